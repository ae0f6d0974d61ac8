-- for the "COPY floor without secondary indexes" row: drop every index of the loaded tables
-- that does not back a constraint (primary keys, unique and exclusion constraints stay)
DO $drop$
DECLARE
    r record;
BEGIN
    FOR r IN
        SELECT i.indexrelid::regclass::text AS name
        FROM pg_index i
        JOIN pg_class t ON t.oid = i.indrelid
        WHERE t.relname IN ('agents', 'submolts', 'posts', 'comments', 'post_evaluations',
                            'comment_evaluations', 'agent_score_history')
          AND t.relnamespace = to_regnamespace(current_schema())
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
    LOOP
        EXECUTE format('DROP INDEX %s', r.name);
    END LOOP;
END
$drop$;
