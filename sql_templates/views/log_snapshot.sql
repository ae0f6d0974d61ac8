-- a snapshot loaded, replaced or removed (in the transaction that does it)
INSERT INTO moltctl_view_changes (kind, snapshot_id, created_at)
VALUES (%(kind)s, %(sid)s, %(created_at)s)
