-- Citus: this transaction writes to many shards and then to a reference table (snapshots);
-- Citus allows that only when the multi-shard writes run over one connection per node.
-- On a plain PostgreSQL this only sets an unused placeholder setting until commit.
SELECT set_config('citus.multi_shard_modify_mode', 'sequential', true)
