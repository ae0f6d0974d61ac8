-- what these names are in this schema: r table, v view, m materialized view
SELECT c.relname, c.relkind::text
FROM pg_class c
WHERE c.relnamespace = current_schema()::regnamespace
  AND c.relname = ANY (%(names)s)
