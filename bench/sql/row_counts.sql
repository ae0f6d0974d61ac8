-- rows per loaded table, to check that every method loaded the same rows
SELECT 'snapshots' AS table_name, count(*) FROM snapshots
UNION ALL SELECT 'agents', count(*) FROM agents
UNION ALL SELECT 'submolts', count(*) FROM submolts
UNION ALL SELECT 'posts', count(*) FROM posts
UNION ALL SELECT 'comments', count(*) FROM comments
UNION ALL SELECT 'post_evaluations', count(*) FROM post_evaluations
UNION ALL SELECT 'comment_evaluations', count(*) FROM comment_evaluations
UNION ALL SELECT 'agent_score_history', count(*) FROM agent_score_history
