-- per materialized view: is it populated, and does it have a unique index REFRESH ... CONCURRENTLY
-- can use (PostgreSQL needs one on plain columns, without a WHERE clause, valid)
SELECT c.relname AS name,
       c.relispopulated AS populated,
       EXISTS (
           SELECT 1
           FROM pg_index i
           WHERE i.indrelid = c.oid
             AND i.indisunique
             AND i.indisvalid
             AND i.indpred IS NULL
             AND i.indexprs IS NULL
             AND i.indnkeyatts > 0
             -- every key column is a plain, live column of the view
             AND i.indnkeyatts = (
                 SELECT count(*)
                 FROM pg_attribute a
                 WHERE a.attrelid = c.oid
                   AND a.attnum = ANY ((i.indkey::int2[])[0:i.indnkeyatts - 1])
                   AND a.attnum > 0
                   AND NOT a.attisdropped
             )
       ) AS has_unique_index
FROM pg_class c
WHERE c.relkind = 'm'
  AND c.relnamespace = current_schema()::regnamespace
  AND c.relname = ANY (%(names)s)
