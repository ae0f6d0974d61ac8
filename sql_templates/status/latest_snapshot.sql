-- the latest completed snapshot: a failed run holds no data and is not "the latest snapshot"
SELECT run_id, created_at, status, posts_fetched, comments_fetched, agents_fetched
FROM snapshots
WHERE status = 'completed'
ORDER BY created_at DESC
LIMIT 1
