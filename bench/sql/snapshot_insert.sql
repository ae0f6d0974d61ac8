-- the snapshot row of the COPY floor and of the naive loaders (ingest-file writes its own)
INSERT INTO snapshots (id, created_at, run_id, site_stats, posts_fetched, agents_fetched,
                       submolts_fetched, comments_fetched, status, started_at, completed_at)
VALUES (%(id)s, %(created_at)s, %(run_id)s, %(site_stats)s::jsonb, %(posts_fetched)s,
        %(agents_fetched)s, %(submolts_fetched)s, %(comments_fetched)s, 'completed', now(), now())
