SELECT run_id, created_at, status
FROM snapshots
WHERE run_id = %(value)s
