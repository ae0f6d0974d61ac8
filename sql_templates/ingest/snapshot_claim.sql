-- claim the run: a concurrent ingest of the same run waits here on the unique run_id, then
-- finds it taken (no row returned) once the first one commits
INSERT INTO snapshots (run_id, created_at, status, started_at)
VALUES (%(run_id)s, %(created_at)s, 'running', clock_timestamp())
ON CONFLICT (run_id) DO NOTHING
RETURNING id
