-- a background job of shard moves (NULL when the shards are already balanced)
SELECT citus_rebalance_start(shard_transfer_mode => %(mode)s::citus.shard_transfer_mode)
