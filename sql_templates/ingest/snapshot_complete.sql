UPDATE snapshots SET
    status = 'completed',
    error_message = NULL,
    completed_at = %(completed_at)s,
    posts_fetched = %(posts)s,
    comments_fetched = %(comments)s,
    agents_fetched = %(agents)s,
    submolts_fetched = %(submolts)s,
    -- the run's own site stats win over what ingest computes from the rows it saw
    site_stats = jsonb_strip_nulls(jsonb_build_object(
        'avg_comments_per_post',
        CASE WHEN %(posts)s::int > 0 THEN %(comments)s::float8 / %(posts)s::int END,
        'avg_karma_per_agent', %(avg_karma)s::float8
    )) || %(site_stats)s::jsonb
WHERE id = %(sid)s
