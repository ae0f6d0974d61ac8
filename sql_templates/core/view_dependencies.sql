-- which materialized view reads which other materialized view (for the refresh order)
SELECT DISTINCT v.relname AS view, d.relname AS depends_on
FROM pg_rewrite r
JOIN pg_class v ON v.oid = r.ev_class
JOIN pg_depend dep ON dep.classid = 'pg_rewrite'::regclass AND dep.objid = r.oid
JOIN pg_class d ON d.oid = dep.refobjid
WHERE v.relkind = 'm'
  AND d.relkind = 'm'
  AND d.oid <> v.oid
  AND v.relnamespace = current_schema()::regnamespace
