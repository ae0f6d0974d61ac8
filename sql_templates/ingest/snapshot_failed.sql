-- after a rollback, in a transaction of its own: record the failure (never over a loaded run)
INSERT INTO snapshots (run_id, created_at, status, error_message, started_at, completed_at)
VALUES (%(run_id)s, %(created_at)s, 'failed', %(error)s, %(started_at)s, clock_timestamp())
ON CONFLICT (run_id) DO UPDATE
    SET status = 'failed', error_message = EXCLUDED.error_message,
        started_at = EXCLUDED.started_at, completed_at = EXCLUDED.completed_at
    WHERE snapshots.status <> 'completed'
