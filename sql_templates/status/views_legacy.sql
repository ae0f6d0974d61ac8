-- before migration 005 (status of a database behind this moltctl): the materialized views
SELECT m.matviewname AS view,
       m.ispopulated AS populated,
       pg_total_relation_size((quote_ident(m.schemaname) || '.' || quote_ident(m.matviewname))::regclass) AS bytes,
       r.refreshed_at AS last_refresh,
       r.row_count AS rows
FROM pg_matviews m
LEFT JOIN moltctl_view_refreshes r ON r.view_name = m.matviewname
WHERE m.schemaname = current_schema()
ORDER BY m.matviewname
