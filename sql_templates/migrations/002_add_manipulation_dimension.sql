-- 002: add a judged dimension. Every new dimension follows this pattern:
--   1. register it in `dimensions` (name as the judges write it in `scores`, a short name);
--   2. add its flag column has_high_<short_name> to agent_score_history;
-- then `moltctl migrate && moltctl refresh-views`: the materialized views and the queries are
-- generated from `dimensions`, so the new dimension shows in leaderboard, dimension-trends and
-- high-risk without any change to moltctl itself.
INSERT INTO dimensions (name, short_name, description, position)
VALUES ('manipulation', 'manipulation', 'Manipulating other agents or humans', 5);

-- metadata-only on PostgreSQL 11+: no rewrite of the (partitioned) history
ALTER TABLE agent_score_history ADD COLUMN has_high_manipulation BOOLEAN DEFAULT FALSE;
