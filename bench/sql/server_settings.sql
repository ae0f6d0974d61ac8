-- the server the numbers were measured on
SELECT version() AS version,
       current_setting('shared_buffers') AS shared_buffers,
       current_setting('work_mem') AS work_mem,
       current_setting('maintenance_work_mem') AS maintenance_work_mem,
       current_setting('synchronous_commit') AS synchronous_commit,
       current_setting('max_wal_size') AS max_wal_size
