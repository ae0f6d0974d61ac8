INSERT INTO moltctl_migrations (version, name, checksum, duration_ms, transactional)
VALUES (%(version)s, %(name)s, %(checksum)s, %(duration_ms)s, %(transactional)s)
