-- 005: the views hourly_growth, agent_leaderboard and dimension_trends become tables (and a
-- view over them) that refresh-views maintains incrementally, from a log of what changed.
--
-- The log: ingest-file (a load, a --replace) and purge write a row here in the same
-- transaction as the change itself, so the log can never miss a committed change nor name one
-- that was rolled back. refresh-views folds in the rows pending for a view and removes the
-- view from their `pending` list (a row goes when no view still needs it). A purge logs one
-- time range per step (everything before `upto`) instead of one row per snapshot.
--
-- The materialized views themselves are replaced right after this migration by the step that
-- regenerates the views (moltctl's view sync), in one transaction per view: a reader sees the
-- materialized view or the table, never neither. See docs/incremental-views.md.
CREATE TABLE moltctl_view_changes (
    id BIGSERIAL PRIMARY KEY,
    kind TEXT NOT NULL
        CONSTRAINT moltctl_view_changes_kind_check
        CHECK (kind IN ('loaded', 'replaced', 'removed', 'purged')),
    -- one snapshot (its id and time), or, for a purge, the range [created_at, upto)
    snapshot_id UUID,
    created_at TIMESTAMPTZ NOT NULL,
    upto TIMESTAMPTZ,
    pending TEXT[] NOT NULL DEFAULT ARRAY['hourly_growth', 'agent_leaderboard', 'dimension_trends'],
    logged_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
    CONSTRAINT moltctl_view_changes_one_check CHECK ((snapshot_id IS NULL) = (upto IS NOT NULL))
);

-- how the last refresh of each view went: incremental or full, and how many changes it folded in
ALTER TABLE moltctl_view_refreshes ADD COLUMN method TEXT;
ALTER TABLE moltctl_view_refreshes ADD COLUMN changes INT;
