-- a purge step removes (some of) what lies before %(upto)s: one row for the range from the
-- oldest snapshot on (written before the step deletes anything, in its transaction)
INSERT INTO moltctl_view_changes (kind, created_at, upto)
SELECT 'purged', min(created_at), %(upto)s
FROM snapshots
WHERE created_at < %(upto)s
HAVING min(created_at) IS NOT NULL
