-- bench_query.py data, set-based: agents x versions SCD2 versions each and the same number of
-- agent_score_history rows, hourly snapshots, and post/comment evaluations for
-- dimension_trends. Deterministic (setseed). psycopg binds the parameters, so there is no
-- modulo operator here: it is written mod().
SELECT setseed(0.42);

INSERT INTO snapshots (created_at, run_id, posts_fetched, agents_fetched, submolts_fetched,
                       comments_fetched, site_stats, status)
SELECT ts,
       to_char(ts AT TIME ZONE 'UTC', 'YYYYMMDD"T"HH24MISS"Z"'),
       1000 + s, %(agents)s, 50, 5000 + 3 * s,
       jsonb_build_object('avg_comments_per_post', 2.5 + s / 100.0,
                          'avg_karma_per_agent', 10 + s / 10.0),
       'completed'
FROM generate_series(0, %(snapshots)s - 1) AS s,
     LATERAL (SELECT timestamptz '2026-01-01 00:00:00+00' + make_interval(hours => s) AS ts) t;

CREATE TEMP TABLE snap_ix AS
SELECT (row_number() OVER (ORDER BY created_at) - 1)::int AS ix, id, created_at FROM snapshots;
CREATE UNIQUE INDEX ON snap_ix (ix);
ANALYZE snap_ix;

-- version v of agent a starts at snapshot v * step + mod(a, step) and ends where v + 1 starts
INSERT INTO agents (snapshot_id, external_id, handle, display_name, bio, karma, follower_count,
                    following_count, valid_from, valid_to, is_current)
SELECT s.id, 'agent-' || a, 'agent_' || a, 'Agent ' || a || ' v' || v, 'bio ' || a || '/' || v,
       v * 10 + mod(a, 7), mod(a, 1000) + v, mod(a, 50), s.created_at, n.created_at,
       n.created_at IS NULL
FROM generate_series(1, %(agents)s) AS a
CROSS JOIN generate_series(0, %(versions)s - 1) AS v
JOIN snap_ix s ON s.ix = v * (%(snapshots)s / %(versions)s) + mod(a, %(snapshots)s / %(versions)s)
LEFT JOIN snap_ix n
       ON v < %(versions)s - 1
      AND n.ix = (v + 1) * (%(snapshots)s / %(versions)s) + mod(a, %(snapshots)s / %(versions)s);

-- one score row per agent and version snapshot; 5 dimensions with random means
INSERT INTO agent_score_history (snapshot_id, agent_id, agent_handle, posts_evaluated,
    comments_evaluated, total_items_evaluated, dimension_scores, overall_mean_score,
    highest_dimension, highest_dimension_score, has_high_harm, has_high_deception,
    has_high_power_seeking, has_high_sycophancy, has_high_manipulation, recorded_at)
SELECT x.id, 'agent-' || x.a, 'agent_' || x.a, x.p, x.c, x.p + x.c,
       jsonb_build_object(
           'harm_enablement', jsonb_build_object('mean_score', x.m1, 'max_score', x.x1,
               'min_score', 0, 'count', x.p + x.c, 'high_count', (x.x1 >= 7)::int),
           'deception_or_evasion', jsonb_build_object('mean_score', x.m2, 'max_score', x.x2,
               'min_score', 0, 'count', x.p + x.c, 'high_count', (x.x2 >= 7)::int),
           'self_preservation_power_seeking', jsonb_build_object('mean_score', x.m3,
               'max_score', x.x3, 'min_score', 0, 'count', x.p + x.c,
               'high_count', (x.x3 >= 7)::int),
           'delusional_sycophancy', jsonb_build_object('mean_score', x.m4, 'max_score', x.x4,
               'min_score', 0, 'count', x.p + x.c, 'high_count', (x.x4 >= 7)::int),
           'manipulation', jsonb_build_object('mean_score', x.m5, 'max_score', x.x5,
               'min_score', 0, 'count', x.p + x.c, 'high_count', (x.x5 >= 7)::int)),
       (x.m1 + x.m2 + x.m3 + x.m4 + x.m5) / 5,
       CASE greatest(x.m1, x.m2, x.m3, x.m4, x.m5)
           WHEN x.m1 THEN 'harm_enablement' WHEN x.m2 THEN 'deception_or_evasion'
           WHEN x.m3 THEN 'self_preservation_power_seeking'
           WHEN x.m4 THEN 'delusional_sycophancy' ELSE 'manipulation' END,
       greatest(x.m1, x.m2, x.m3, x.m4, x.m5),
       x.x1 >= 7, x.x2 >= 7, x.x3 >= 7, x.x4 >= 7, x.x5 >= 7,
       x.created_at
FROM (
    SELECT a, v, s.id, s.created_at,
           1 + mod(a + v, 5) AS p, mod(a * 7 + v, 4) AS c,
           m1, m2, m3, m4, m5,
           least(10, m1 + 2.5) AS x1, least(10, m2 + 2) AS x2, least(10, m3 + 1.5) AS x3,
           least(10, m4 + 2) AS x4, least(10, m5 + 1) AS x5
    FROM generate_series(1, %(agents)s) AS a
    CROSS JOIN generate_series(0, %(versions)s - 1) AS v
    JOIN snap_ix s
      ON s.ix = v * (%(snapshots)s / %(versions)s) + mod(a, %(snapshots)s / %(versions)s)
    CROSS JOIN LATERAL (
        SELECT round((random() * 6)::numeric, 2)::float AS m1,
               round((random() * 5)::numeric, 2)::float AS m2,
               round((random() * 4)::numeric, 2)::float AS m3,
               round((random() * 6)::numeric, 2)::float AS m4,
               round((random() * 3 + a * 0)::numeric, 2)::float AS m5
    ) r
) x;

-- evaluations per snapshot for dimension_trends (scores in halves: 6.5 is a score too)
INSERT INTO post_evaluations (snapshot_id, post_id, model, scores, evaluated_at)
SELECT s.id, 'post-' || e, 'judge-1',
       jsonb_build_object(
           'harm_enablement', jsonb_build_object('score', floor(random() * 21) / 2),
           'deception_or_evasion', jsonb_build_object('score', floor(random() * 21) / 2),
           'self_preservation_power_seeking', jsonb_build_object('score', floor(random() * 15) / 2),
           'delusional_sycophancy', jsonb_build_object('score', floor(random() * 21) / 2),
           'manipulation', jsonb_build_object('score', floor(random() * 11) / 2 + e * 0)),
       s.created_at
FROM snap_ix s
CROSS JOIN generate_series(1, %(evals_per_snapshot)s) AS e;

INSERT INTO comment_evaluations (snapshot_id, comment_id, post_id, author_handle, model, scores,
                                 evaluated_at)
SELECT s.id, 'comment-' || e, 'post-' || e, 'agent_' || e, 'judge-1',
       jsonb_build_object(
           'harm_enablement', jsonb_build_object('score', floor(random() * 21) / 2),
           'deception_or_evasion', jsonb_build_object('score', floor(random() * 21) / 2),
           'self_preservation_power_seeking', jsonb_build_object('score', floor(random() * 15) / 2),
           'delusional_sycophancy', jsonb_build_object('score', floor(random() * 21) / 2 + e * 0)),
       s.created_at
FROM snap_ix s
CROSS JOIN generate_series(1, %(evals_per_snapshot)s / 2) AS e;

ANALYZE snapshots;
ANALYZE agents;
ANALYZE agent_score_history;
ANALYZE post_evaluations;
ANALYZE comment_evaluations;
