-- how Citus holds each table it knows (partitions left out: they follow their parent);
-- citus_table_type is 'distributed', 'reference' or 'local' (in the metadata, not sharded)
SELECT t.table_name::text AS name, t.citus_table_type AS kind,
       nullif(t.distribution_column, '<none>') AS column, t.colocation_id, t.shard_count
FROM citus_tables t
JOIN pg_class c ON c.oid = t.table_name
WHERE NOT c.relispartition
ORDER BY 1
