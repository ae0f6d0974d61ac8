SELECT version, name, checksum, applied_at, duration_ms
FROM moltctl_migrations
ORDER BY version
