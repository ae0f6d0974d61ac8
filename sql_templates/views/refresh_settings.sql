-- the refresh's transaction: the rank blocks sort every agent's key (some MB at 100,000 agents)
SET LOCAL work_mem = '64MB'
