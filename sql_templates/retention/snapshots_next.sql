-- the next old snapshots, oldest first (keyset on created_at, id)
SELECT id, created_at
FROM snapshots
WHERE created_at < %(cutoff)s
  AND (created_at, id) > (%(after_ts)s, %(after_id)s)
ORDER BY created_at, id
LIMIT %(limit)s
