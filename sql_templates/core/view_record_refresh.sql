INSERT INTO moltctl_view_refreshes (view_name, refreshed_at, duration_ms, row_count, method, changes)
VALUES (%(view_name)s, clock_timestamp(), %(duration_ms)s, %(row_count)s, %(method)s, %(changes)s)
ON CONFLICT (view_name) DO UPDATE
SET refreshed_at = EXCLUDED.refreshed_at,
    duration_ms = EXCLUDED.duration_ms,
    row_count = EXCLUDED.row_count,
    method = EXCLUDED.method,
    changes = EXCLUDED.changes
