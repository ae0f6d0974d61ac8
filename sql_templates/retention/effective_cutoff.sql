-- The window starts at the last completed snapshot at or before the cutoff: it is what the
-- moments just after the cutoff are answered from, so it is kept and everything older goes.
-- A failed run holds no data and answers nothing: it must never become the window's start.
SELECT created_at AS effective, run_id
FROM snapshots
WHERE created_at <= %(cutoff)s AND status = 'completed'
ORDER BY created_at DESC, run_id DESC
LIMIT 1
