SELECT c.relname AS partition
FROM pg_inherits i
JOIN pg_class c ON c.oid = i.inhrelid
JOIN pg_class p ON p.oid = i.inhparent
WHERE p.relname = ANY(%(tables)s)
  AND p.relnamespace = to_regnamespace(current_schema())
ORDER BY c.relname
