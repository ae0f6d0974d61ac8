-- runs whose ingest failed (rolled back, recorded after): what to retry, oldest first
SELECT run_id,
       created_at,
       date_trunc('second', completed_at) AS failed_at,
       split_part(coalesce(error_message, ''), E'\n', 1) AS error
FROM snapshots
WHERE status = 'failed'
ORDER BY created_at, run_id
