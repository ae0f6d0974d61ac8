-- The indexes the spec creates on its eight tables, and every index the database has on them
-- (constraint: the name of the constraint an index backs, NULL for a plain index).
WITH spec (table_name, index_name) AS (VALUES
    ('snapshots', 'idx_snapshots_created_at'),
    ('snapshots', 'idx_snapshots_run_id'),
    ('agents', 'idx_agents_handle'),
    ('agents', 'idx_agents_external_id'),
    ('agents', 'idx_agents_snapshot'),
    ('agents', 'idx_agents_current'),
    ('agents', 'idx_agents_karma'),
    ('submolts', 'idx_submolts_name'),
    ('submolts', 'idx_submolts_snapshot'),
    ('submolts', 'idx_submolts_current'),
    ('posts', 'idx_posts_external_id'),
    ('posts', 'idx_posts_snapshot'),
    ('posts', 'idx_posts_author'),
    ('posts', 'idx_posts_submolt'),
    ('posts', 'idx_posts_created'),
    ('posts', 'idx_posts_score'),
    ('comments', 'idx_comments_external_id'),
    ('comments', 'idx_comments_snapshot'),
    ('comments', 'idx_comments_post'),
    ('comments', 'idx_comments_author'),
    ('comments', 'idx_comments_parent'),
    ('post_evaluations', 'idx_post_evals_snapshot'),
    ('post_evaluations', 'idx_post_evals_post'),
    ('post_evaluations', 'idx_post_evals_model'),
    ('post_evaluations', 'idx_post_evals_scores'),
    ('comment_evaluations', 'idx_comment_evals_snapshot'),
    ('comment_evaluations', 'idx_comment_evals_comment'),
    ('comment_evaluations', 'idx_comment_evals_author'),
    ('comment_evaluations', 'idx_comment_evals_scores'),
    ('agent_score_history', 'idx_agent_history_snapshot'),
    ('agent_score_history', 'idx_agent_history_agent'),
    ('agent_score_history', 'idx_agent_history_handle'),
    ('agent_score_history', 'idx_agent_history_overall')
)
SELECT t.relname::text AS table_name, i.relname::text AS index_name,
       pg_get_indexdef(i.oid) AS definition, con.conname::text AS constraint_name,
       x.indisunique AS is_unique,
       EXISTS (SELECT 1 FROM spec s WHERE s.index_name = i.relname) AS in_spec
FROM pg_index x
JOIN pg_class i ON i.oid = x.indexrelid
JOIN pg_class t ON t.oid = x.indrelid
LEFT JOIN pg_constraint con ON con.conindid = x.indexrelid AND con.conrelid = x.indrelid
WHERE t.relnamespace = to_regnamespace(current_schema())
  AND t.relname IN (SELECT table_name FROM spec)
UNION ALL
-- the spec's indexes that are not there
SELECT s.table_name, s.index_name, NULL, NULL, NULL, true
FROM spec s
WHERE to_regclass(quote_ident(s.index_name)) IS NULL
ORDER BY 1, 2
