-- Every partition of the partitioned tables with its range (NULL bounds for the default one).
-- pg_get_expr renders the bounds in this session's time zone; casting back is exact.
SELECT p.relname AS "table",
       c.relname AS partition,
       b.expr = 'DEFAULT' AS is_default,
       (regexp_match(b.expr, 'FROM \(''([^'']*)''\)'))[1]::timestamptz AS lower,
       (regexp_match(b.expr, 'TO \(''([^'']*)''\)'))[1]::timestamptz AS upper,
       greatest(c.reltuples, 0)::bigint AS estimated_rows
FROM pg_inherits i
JOIN pg_class c ON c.oid = i.inhrelid
JOIN pg_class p ON p.oid = i.inhparent
CROSS JOIN LATERAL (SELECT pg_get_expr(c.relpartbound, c.oid) AS expr) b
WHERE p.relname = ANY(%(tables)s)
  AND p.relnamespace = to_regnamespace(current_schema())
ORDER BY p.relname, 4 NULLS LAST, c.relname
