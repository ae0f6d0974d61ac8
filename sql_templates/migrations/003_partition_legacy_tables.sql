-- 003: convert an installation whose high-volume tables were created from the spec's DDL
-- (ordinary tables) to the monthly-partitioned layout of 001. Idempotent: a table that is
-- already partitioned (relkind 'p', every installation made by moltctl init) is left alone,
-- so on those this migration only records itself.
--
-- Per table, in this migration's single transaction:
--   1. the old table is renamed <table>_legacy; its constraints and indexes are renamed
--      legacy_<name> (out of the way of the spec names) and its foreign key is dropped;
--   2. a NULL partition key (the spec's columns are nullable) gets its snapshot's created_at;
--   3. the partitioned table is created with the same columns (LIKE) and a default partition;
--   4. the old table is ATTACHED as ONE partition covering the months it holds
--      ([first month, last month + 1)); a CHECK proving the range is added and validated first
--      (one read of the table, no row is rewritten), so SET NOT NULL and ATTACH skip their
--      scans. An empty old table becomes the default partition instead;
--   5. keys and indexes are created on the partitioned table under the 001 names; PostgreSQL
--      adopts the old table's identical indexes instead of building them again (only the new
--      keys, which include the partition key, and changed indexes are built);
--   6. the old table's indexes and keys that no parent index adopted are dropped.
-- Rows are read (validation, new indexes) but none is copied: moving rows month by month
-- would rewrite the whole table. New months get ordinary monthly partitions after the legacy
-- range; purge trims the legacy partition in batches and drops it once it is wholly past the
-- cutoff.
DO $convert$
DECLARE
    tables CONSTANT text[] := ARRAY[
        'posts', 'comments', 'post_evaluations', 'comment_evaluations', 'agent_score_history'];
    keys CONSTANT text[] := ARRAY[
        'fetched_at', 'fetched_at', 'evaluated_at', 'evaluated_at', 'recorded_at'];
    t text;
    k text;
    legacy text;
    lo timestamptz;
    hi timestamptz;
    stmt text;
    ddl text[];
    r record;
BEGIN
    FOR i IN 1 .. array_length(tables, 1) LOOP
        t := tables[i];
        k := keys[i];
        IF (SELECT c.relkind FROM pg_class c WHERE c.oid = to_regclass(quote_ident(t)))
                IS DISTINCT FROM 'r' THEN
            CONTINUE;
        END IF;
        legacy := t || '_legacy';
        RAISE NOTICE 'converting % to a partitioned table', t;

        -- 1. step aside
        EXECUTE format('ALTER TABLE %I RENAME TO %I', t, legacy);
        FOR r IN
            SELECT conname, contype FROM pg_constraint
            WHERE conrelid = to_regclass(quote_ident(legacy)) AND contype IN ('p', 'u', 'f', 'x')
        LOOP
            IF r.contype = 'f' THEN
                EXECUTE format('ALTER TABLE %I DROP CONSTRAINT %I', legacy, r.conname);
            ELSE
                EXECUTE format('ALTER TABLE %I RENAME CONSTRAINT %I TO %I',
                               legacy, r.conname, left('legacy_' || r.conname, 63));
            END IF;
        END LOOP;
        FOR r IN
            SELECT ic.relname FROM pg_index x JOIN pg_class ic ON ic.oid = x.indexrelid
            WHERE x.indrelid = to_regclass(quote_ident(legacy))
              AND NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conindid = x.indexrelid)
        LOOP
            EXECUTE format('ALTER INDEX %I RENAME TO %I',
                           r.relname, left('legacy_' || r.relname, 63));
        END LOOP;

        -- 2. every row needs a partition key: its snapshot's time (what ingest writes)
        EXECUTE format(
            'UPDATE %I x SET %I = s.created_at FROM snapshots s '
            'WHERE s.id = x.snapshot_id AND x.%I IS NULL', legacy, k, k);

        -- 3. the partitioned table
        EXECUTE format('CREATE TABLE %I (LIKE %I INCLUDING DEFAULTS) PARTITION BY RANGE (%I)',
                       t, legacy, k);
        EXECUTE format('ALTER TABLE %I ALTER COLUMN %I SET NOT NULL', t, k);
        EXECUTE format('ALTER TABLE %I ADD CONSTRAINT %I FOREIGN KEY (snapshot_id) '
                       'REFERENCES snapshots(id) ON DELETE CASCADE', t, t || '_snapshot_id_fkey');

        -- 4. the old rows stay where they are: the old table becomes a partition
        EXECUTE format('SELECT min(%I), max(%I) FROM %I', k, k, legacy) INTO lo, hi;
        IF lo IS NULL THEN
            EXECUTE format('ALTER TABLE %I RENAME TO %I', legacy, t || '_default');
            legacy := t || '_default';
            EXECUTE format('ALTER TABLE %I ALTER COLUMN %I SET NOT NULL', legacy, k);
            EXECUTE format('ALTER TABLE %I ATTACH PARTITION %I DEFAULT', t, legacy);
        ELSE
            lo := date_trunc('month', lo AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
            hi := (date_trunc('month', hi AT TIME ZONE 'UTC') + interval '1 month')
                  AT TIME ZONE 'UTC';
            EXECUTE format('ALTER TABLE %I ADD CONSTRAINT legacy_range CHECK '
                           '(%I IS NOT NULL AND %I >= %L AND %I < %L)', legacy, k, k, lo, k, hi);
            EXECUTE format('ALTER TABLE %I ALTER COLUMN %I SET NOT NULL', legacy, k);
            EXECUTE format('CREATE TABLE %I PARTITION OF %I DEFAULT', t || '_default', t);
            EXECUTE format('ALTER TABLE %I ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)',
                           t, legacy, lo, hi);
            EXECUTE format('ALTER TABLE %I DROP CONSTRAINT legacy_range', legacy);
        END IF;

        -- 5. keys and indexes of 001, under its names
        ddl := CASE t
            WHEN 'posts' THEN ARRAY[
                'ALTER TABLE posts ADD PRIMARY KEY (id, fetched_at)',
                'ALTER TABLE posts ADD CONSTRAINT uq_posts_snapshot_entity '
                    'UNIQUE (snapshot_id, external_id, fetched_at)',
                'CREATE INDEX idx_posts_external_id ON posts(external_id)',
                'CREATE INDEX idx_posts_snapshot ON posts(snapshot_id)',
                'CREATE INDEX idx_posts_author ON posts(author_id)',
                'CREATE INDEX idx_posts_submolt ON posts(submolt_id)',
                'CREATE INDEX idx_posts_created ON posts(created_at_source DESC)',
                'CREATE INDEX idx_posts_score ON posts(score DESC)']
            WHEN 'comments' THEN ARRAY[
                'ALTER TABLE comments ADD PRIMARY KEY (id, fetched_at)',
                'ALTER TABLE comments ADD CONSTRAINT uq_comments_snapshot_entity '
                    'UNIQUE (snapshot_id, external_id, fetched_at)',
                'CREATE INDEX idx_comments_external_id ON comments(external_id)',
                'CREATE INDEX idx_comments_snapshot ON comments(snapshot_id)',
                'CREATE INDEX idx_comments_post ON comments(post_id)',
                'CREATE INDEX idx_comments_author ON comments(author_id)',
                'CREATE INDEX idx_comments_parent ON comments(parent_comment_id)']
            WHEN 'post_evaluations' THEN ARRAY[
                'ALTER TABLE post_evaluations ADD PRIMARY KEY (id, evaluated_at)',
                'CREATE INDEX idx_post_evals_snapshot ON post_evaluations(snapshot_id)',
                'CREATE INDEX idx_post_evals_post ON post_evaluations(post_id)',
                'CREATE INDEX idx_post_evals_model ON post_evaluations(model)',
                'CREATE INDEX idx_post_evals_scores ON post_evaluations USING GIN '
                    '(jsonb_path_query_array(scores, ''$.keyvalue() ? (@.value.score >= 7).key''))']
            WHEN 'comment_evaluations' THEN ARRAY[
                'ALTER TABLE comment_evaluations ADD PRIMARY KEY (id, evaluated_at)',
                'CREATE INDEX idx_comment_evals_snapshot ON comment_evaluations(snapshot_id)',
                'CREATE INDEX idx_comment_evals_comment ON comment_evaluations(comment_id)',
                'CREATE INDEX idx_comment_evals_author ON comment_evaluations(author_handle)',
                'CREATE INDEX idx_comment_evals_scores ON comment_evaluations USING GIN '
                    '(jsonb_path_query_array(scores, ''$.keyvalue() ? (@.value.score >= 7).key''))']
            WHEN 'agent_score_history' THEN ARRAY[
                'ALTER TABLE agent_score_history ADD PRIMARY KEY (id, recorded_at)',
                'ALTER TABLE agent_score_history ADD CONSTRAINT uq_agent_history_snapshot_agent '
                    'UNIQUE (snapshot_id, agent_id, recorded_at)',
                'CREATE INDEX idx_agent_history_snapshot ON agent_score_history(snapshot_id)',
                'CREATE INDEX idx_agent_history_agent ON agent_score_history(agent_id)',
                'CREATE INDEX idx_agent_history_handle ON agent_score_history(agent_handle)',
                'CREATE INDEX idx_agent_history_overall '
                    'ON agent_score_history(overall_mean_score DESC)',
                'CREATE INDEX idx_agent_history_agent_recorded '
                    'ON agent_score_history(agent_id, recorded_at DESC)']
        END;
        FOREACH stmt IN ARRAY ddl LOOP
            EXECUTE stmt;
        END LOOP;

        -- 6. what the old table had that no parent index adopted
        FOR r IN
            SELECT ic.relname, con.conname
            FROM pg_index x
            JOIN pg_class ic ON ic.oid = x.indexrelid
            LEFT JOIN pg_constraint con ON con.conindid = x.indexrelid
                AND con.conrelid = x.indrelid
            WHERE x.indrelid = to_regclass(quote_ident(legacy))
              AND NOT EXISTS (SELECT 1 FROM pg_inherits WHERE inhrelid = x.indexrelid)
        LOOP
            IF r.conname IS NOT NULL THEN
                EXECUTE format('ALTER TABLE %I DROP CONSTRAINT %I', legacy, r.conname);
            ELSE
                EXECUTE format('DROP INDEX %I', r.relname);
            END IF;
        END LOOP;
    END LOOP;
END
$convert$;
