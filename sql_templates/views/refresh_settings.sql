-- the refresh's transaction: the rank blocks sort every agent's key (some MB at 100,000 agents);
-- its commit need not wait for the disk: a refresh lost in a crash is lost whole, change log
-- included, and the next one does it again
SET LOCAL work_mem = '64MB';
SET LOCAL synchronous_commit = off
