-- is any loaded snapshot at or after this one's time? (if not, every entity moves forward)
SELECT EXISTS (
    SELECT 1 FROM snapshots
    WHERE id <> %(sid)s AND status = 'completed' AND created_at >= %(t)s
) AS later
