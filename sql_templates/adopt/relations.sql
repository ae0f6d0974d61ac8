-- The kind of each named relation in the current schema (r table, p partitioned, m matview, v view)
SELECT c.relname::text AS name, c.relkind::text AS kind
FROM pg_class c
WHERE c.relnamespace = to_regnamespace(current_schema()) AND c.relname = ANY(%(names)s)
