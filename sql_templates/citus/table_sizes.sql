-- bytes per table, a partitioned table's partitions counted under it (bytes of
-- every placement: a reference table's copy on each node)
SELECT coalesce(pg_partition_root(s.table_name), s.table_name)::text AS name,
       count(DISTINCT s.shardid) AS shards,
       sum(s.shard_size)::bigint AS bytes
FROM citus_shards s
GROUP BY 1
