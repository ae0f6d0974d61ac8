-- 006: every primary key and unique constraint includes the column the table is (or can be)
-- distributed by on Citus (docs/citus.md): Citus enforces uniqueness per shard, so it refuses
-- to distribute a table whose key lacks that column. On one server the keys stay as strict in
-- practice: the surrogate id (gen_random_uuid) is unique on its own, and a comment is stored
-- once per snapshot under its post (ingest merges a run's observations by external_id).
-- The surrogate id stays the leading column, so lookups by id keep using the index.
-- One constraint per ALTER TABLE: Citus needs that once a table references a reference table.
-- Rebuilds these indexes once (a read of each table, no row is rewritten).
ALTER TABLE agents DROP CONSTRAINT agents_pkey;
ALTER TABLE agents ADD CONSTRAINT agents_pkey PRIMARY KEY (id, external_id);

ALTER TABLE submolts DROP CONSTRAINT submolts_pkey;
ALTER TABLE submolts ADD CONSTRAINT submolts_pkey PRIMARY KEY (id, external_id);

ALTER TABLE posts DROP CONSTRAINT posts_pkey;
ALTER TABLE posts ADD CONSTRAINT posts_pkey PRIMARY KEY (id, fetched_at, external_id);

ALTER TABLE comments DROP CONSTRAINT comments_pkey;
ALTER TABLE comments ADD CONSTRAINT comments_pkey PRIMARY KEY (id, fetched_at, post_id);
ALTER TABLE comments DROP CONSTRAINT uq_comments_snapshot_entity;
ALTER TABLE comments ADD CONSTRAINT uq_comments_snapshot_entity
    UNIQUE (snapshot_id, external_id, fetched_at, post_id);

ALTER TABLE post_evaluations DROP CONSTRAINT post_evaluations_pkey;
ALTER TABLE post_evaluations ADD CONSTRAINT post_evaluations_pkey
    PRIMARY KEY (id, evaluated_at, post_id);

ALTER TABLE comment_evaluations DROP CONSTRAINT comment_evaluations_pkey;
ALTER TABLE comment_evaluations ADD CONSTRAINT comment_evaluations_pkey
    PRIMARY KEY (id, evaluated_at, post_id);

ALTER TABLE agent_score_history DROP CONSTRAINT agent_score_history_pkey;
ALTER TABLE agent_score_history ADD CONSTRAINT agent_score_history_pkey
    PRIMARY KEY (id, recorded_at, agent_id);
