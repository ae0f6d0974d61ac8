-- 004: the partitioned tables reference their snapshot by (snapshot_id, partition key) ->
-- snapshots (id, created_at), instead of snapshot_id alone.
--
-- Why: deleting a snapshot row (purge, ingest --replace) fires the ON DELETE CASCADE once per
-- snapshot and table. With snapshot_id alone that cascade has to look in every partition of
-- the table (every month kept, the months created ahead, the default): purging a month of
-- hourly snapshots was 720 x 5 x ~10 index probes, 40% of the purge. With the partition key
-- in the foreign key the cascade is pruned to the one partition that can hold the rows.
-- It also makes PostgreSQL enforce what ingest already writes and every time-based view and
-- purge relies on: a row's partition key is its snapshot's time.
--
-- A table whose existing rows break that rule (rows of a spec-era installation converted by
-- 003, whose fetched_at/evaluated_at were the insert time, not the snapshot's) keeps its
-- snapshot_id foreign key: the attempt is rolled back for that table alone and a NOTICE says
-- so. Adding the new key reads the table once (a validating join); no row is rewritten.
ALTER TABLE snapshots ADD CONSTRAINT snapshots_id_created_at_key UNIQUE (id, created_at);

DO $fk$
DECLARE
    tables CONSTANT text[] := ARRAY[
        'posts', 'comments', 'post_evaluations', 'comment_evaluations', 'agent_score_history'];
    keys CONSTANT text[] := ARRAY[
        'fetched_at', 'fetched_at', 'evaluated_at', 'evaluated_at', 'recorded_at'];
    old_fk text;
BEGIN
    FOR i IN 1 .. array_length(tables, 1) LOOP
        SELECT con.conname INTO old_fk
        FROM pg_constraint con
        WHERE con.conrelid = to_regclass(quote_ident(tables[i]))
          AND con.contype = 'f' AND con.confrelid = 'snapshots'::regclass
          AND con.conparentid = 0;
        BEGIN
            IF old_fk IS NOT NULL THEN
                EXECUTE format('ALTER TABLE %I DROP CONSTRAINT %I', tables[i], old_fk);
            END IF;
            EXECUTE format(
                'ALTER TABLE %I ADD CONSTRAINT %I FOREIGN KEY (snapshot_id, %I) '
                'REFERENCES snapshots (id, created_at) ON DELETE CASCADE',
                tables[i], tables[i] || '_snapshot_fkey', keys[i]);
        EXCEPTION WHEN foreign_key_violation THEN
            RAISE NOTICE '% keeps its snapshot_id foreign key: some rows'' % is not their '
                         'snapshot''s created_at (purge and --replace stay correct, only slower)',
                         tables[i], keys[i];
        END;
    END LOOP;
END
$fk$;
