-- Views that read the given tables (apart from the spec's materialized views, which adopt
-- replaces): they would keep reading the old table once it is only a partition.
SELECT DISTINCT v.relname::text AS view_name, t.relname::text AS table_name
FROM pg_depend d
JOIN pg_rewrite rw ON rw.oid = d.objid
JOIN pg_class v ON v.oid = rw.ev_class
JOIN pg_class t ON t.oid = d.refobjid
WHERE d.classid = 'pg_rewrite'::regclass AND d.refclassid = 'pg_class'::regclass
  AND t.relnamespace = to_regnamespace(current_schema())
  AND t.relname = ANY(%(tables)s) AND v.oid <> t.oid
  AND NOT (v.relkind = 'm' AND v.relname = ANY(%(replaced)s))
ORDER BY 1, 2
