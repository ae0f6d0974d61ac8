-- the run's snapshot row, locked against a concurrent --replace of the same run
SELECT id, status, created_at FROM snapshots WHERE run_id = %(run_id)s FOR UPDATE
