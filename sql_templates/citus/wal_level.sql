-- 'logical' allows online shard moves (logical replication); otherwise they block writes
SELECT current_setting('wal_level')
