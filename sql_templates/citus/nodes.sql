-- the cluster's nodes with their shard placements and bytes (citus_shards asks the workers)
SELECT n.nodename || ':' || n.nodeport AS node,
       CASE WHEN n.groupid = 0 THEN 'coordinator' ELSE 'worker' END AS role,
       n.isactive AS active,
       n.shouldhaveshards AS takes_shards,
       count(s.shardid) AS placements,
       coalesce(sum(s.shard_size), 0)::bigint AS bytes
FROM pg_dist_node n
LEFT JOIN citus_shards s ON s.nodename = n.nodename AND s.nodeport = n.nodeport
GROUP BY n.nodeid, n.nodename, n.nodeport, n.groupid, n.isactive, n.shouldhaveshards
ORDER BY n.groupid, n.nodeid
