CREATE TABLE IF NOT EXISTS moltctl_migrations (
    version TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    checksum TEXT NOT NULL,
    applied_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
    duration_ms DOUBLE PRECISION NOT NULL,
    transactional BOOLEAN NOT NULL DEFAULT TRUE
)
