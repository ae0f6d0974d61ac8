-- Citus: writes to many shards followed by DML on a reference table (snapshots) in one
-- transaction are allowed only when the multi-shard writes run over one connection per node.
-- On a plain PostgreSQL this only sets an unused placeholder setting.
SELECT set_config('citus.multi_shard_modify_mode', 'sequential', %(local)s)
