-- the server the numbers were measured on (durability settings included: the per-record loader
-- commits every record, so fsync / synchronous_commit matter)
SELECT version() AS version,
       current_setting('shared_buffers') AS shared_buffers,
       current_setting('work_mem') AS work_mem,
       current_setting('maintenance_work_mem') AS maintenance_work_mem,
       current_setting('synchronous_commit') AS synchronous_commit,
       current_setting('max_wal_size') AS max_wal_size,
       current_setting('fsync') AS fsync,
       current_setting('full_page_writes') AS full_page_writes,
       current_setting('wal_sync_method') AS wal_sync_method
