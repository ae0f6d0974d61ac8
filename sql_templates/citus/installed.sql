-- the version of the citus extension in this database, or no row (a plain PostgreSQL)
SELECT extversion FROM pg_extension WHERE extname = 'citus'
