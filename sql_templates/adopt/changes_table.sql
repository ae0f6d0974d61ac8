-- Every value adopt changed in the user's rows, with the value it had: one row per (table,
-- row id, column). Documented in docs/adopt.md; adopt's checksums put these values back to
-- prove that the original content is intact.
CREATE TABLE IF NOT EXISTS moltctl_adopt_changes (
    table_name TEXT NOT NULL,
    row_id UUID NOT NULL,
    column_name TEXT NOT NULL,
    old_value TEXT,
    new_value TEXT,
    reason TEXT NOT NULL,
    changed_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (table_name, row_id, column_name)
)
