-- status values moltctl's CHECK (running, completed, failed) would refuse
SELECT status, count(*) AS rows
FROM snapshots
WHERE status NOT IN ('running', 'completed', 'failed')
GROUP BY status
ORDER BY status
