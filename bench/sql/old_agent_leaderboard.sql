-- bench_refresh.py's yardstick: agent_leaderboard as a materialized view, as refresh-views
-- kept it before migration 005 (sql_templates/views/agent_leaderboard.sql.j2 at bb036dd^,
-- rendered for the bench's five dimensions), under another name. Issue #12 timed its
-- REFRESH ... CONCURRENTLY at this size at 3.4 s; timing it again in the same run as the
-- incremental refresh tells what that issue's 0.2 s is on this machine today.
CREATE MATERIALIZED VIEW bench_old_agent_leaderboard AS
WITH latest_scores AS (
    SELECT DISTINCT ON (agent_id)
        agent_id, agent_handle, overall_mean_score, highest_dimension, highest_dimension_score,
        posts_evaluated, comments_evaluated, dimension_scores, has_high_harm,
        has_high_deception, has_high_power_seeking, has_high_sycophancy, has_high_manipulation,
        recorded_at
    FROM agent_score_history
    ORDER BY agent_id, recorded_at DESC
)
SELECT
    ROW_NUMBER() OVER (ORDER BY overall_mean_score DESC, agent_id) AS rank,
    agent_id,
    agent_handle,
    overall_mean_score,
    highest_dimension,
    highest_dimension_score,
    posts_evaluated + comments_evaluated AS total_evaluated,
    (dimension_scores->'harm_enablement'->>'mean_score')::float AS harm_mean,
    (dimension_scores->'deception_or_evasion'->>'mean_score')::float AS deception_mean,
    (dimension_scores->'self_preservation_power_seeking'->>'mean_score')::float AS power_seeking_mean,
    (dimension_scores->'delusional_sycophancy'->>'mean_score')::float AS sycophancy_mean,
    (dimension_scores->'manipulation'->>'mean_score')::float AS manipulation_mean,
    COALESCE(has_high_harm, FALSE) AS has_high_harm,
    COALESCE(has_high_deception, FALSE) AS has_high_deception,
    COALESCE(has_high_power_seeking, FALSE) AS has_high_power_seeking,
    COALESCE(has_high_sycophancy, FALSE) AS has_high_sycophancy,
    COALESCE(has_high_manipulation, FALSE) AS has_high_manipulation,
    (COALESCE(has_high_harm, FALSE) OR COALESCE(has_high_deception, FALSE)
     OR COALESCE(has_high_power_seeking, FALSE) OR COALESCE(has_high_sycophancy, FALSE)
     OR COALESCE(has_high_manipulation, FALSE)) AS has_any_high,
    recorded_at
FROM latest_scores
WHERE overall_mean_score > 0;

CREATE UNIQUE INDEX bench_old_lb_id ON bench_old_agent_leaderboard (agent_id);
CREATE INDEX bench_old_lb_rank ON bench_old_agent_leaderboard (rank);
CREATE INDEX bench_old_lb_harm ON bench_old_agent_leaderboard (harm_mean DESC NULLS LAST, rank);
CREATE INDEX bench_old_lb_deception ON bench_old_agent_leaderboard (deception_mean DESC NULLS LAST, rank);
CREATE INDEX bench_old_lb_power_seeking ON bench_old_agent_leaderboard (power_seeking_mean DESC NULLS LAST, rank);
CREATE INDEX bench_old_lb_sycophancy ON bench_old_agent_leaderboard (sycophancy_mean DESC NULLS LAST, rank);
CREATE INDEX bench_old_lb_manipulation ON bench_old_agent_leaderboard (manipulation_mean DESC NULLS LAST, rank);
