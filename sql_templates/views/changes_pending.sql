-- the changes not yet folded into some of the views %(names)s
SELECT id, kind, snapshot_id, created_at, upto, pending
FROM moltctl_view_changes
WHERE pending && %(names)s::text[]
ORDER BY id
