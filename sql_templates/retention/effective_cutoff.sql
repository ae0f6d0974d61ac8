-- The window starts at the last snapshot at or before the cutoff: it is what the moments just
-- after the cutoff are answered from, so it is kept and everything older goes.
SELECT max(created_at) AS effective FROM snapshots WHERE created_at <= %(cutoff)s
