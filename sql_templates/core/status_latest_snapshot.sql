SELECT run_id, created_at, status, posts_fetched, comments_fetched, agents_fetched
FROM snapshots
ORDER BY created_at DESC
LIMIT 1
