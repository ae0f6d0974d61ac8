-- bench_refresh.py: one more hourly snapshot after the query_data.sql history, of the same
-- shape: a score row for every step-th agent (as each snapshot of the history has), with new
-- random means, and evaluations. %(ix)s is the new snapshot's index (100 for the first).
SELECT setseed(0.42 + %(ix)s / 100000.0);

INSERT INTO snapshots (created_at, run_id, posts_fetched, agents_fetched, submolts_fetched,
                       comments_fetched, site_stats, status)
SELECT ts, to_char(ts AT TIME ZONE 'UTC', 'YYYYMMDD"T"HH24MISS"Z"'), 1000 + %(ix)s, %(agents)s,
       50, 5000 + 3 * %(ix)s,
       jsonb_build_object('avg_comments_per_post', 2.5 + %(ix)s / 100.0,
                          'avg_karma_per_agent', 10 + %(ix)s / 10.0),
       'completed'
FROM (SELECT timestamptz '2026-01-01 00:00:00+00' + make_interval(hours => %(ix)s) AS ts) t;

CREATE TEMP TABLE one_more ON COMMIT DROP AS
SELECT id, created_at FROM snapshots
WHERE created_at = timestamptz '2026-01-01 00:00:00+00' + make_interval(hours => %(ix)s);

INSERT INTO agent_score_history (snapshot_id, agent_id, agent_handle, posts_evaluated,
    comments_evaluated, total_items_evaluated, dimension_scores, overall_mean_score,
    highest_dimension, highest_dimension_score, has_high_harm, has_high_deception,
    has_high_power_seeking, has_high_sycophancy, has_high_manipulation, recorded_at)
SELECT o.id, 'agent-' || a, 'agent_' || a, 1, 1, 2,
       jsonb_build_object(
           'harm_enablement', jsonb_build_object('mean_score', m1),
           'deception_or_evasion', jsonb_build_object('mean_score', m2),
           'self_preservation_power_seeking', jsonb_build_object('mean_score', m3),
           'delusional_sycophancy', jsonb_build_object('mean_score', m4),
           'manipulation', jsonb_build_object('mean_score', m5)),
       (m1 + m2 + m3 + m4 + m5) / 5, 'harm_enablement', m1,
       m1 >= 5, m2 >= 4.5, m3 >= 3.5, m4 >= 5, m5 >= 2.5,
       o.created_at
FROM one_more o
CROSS JOIN generate_series(1, %(agents)s) AS a
CROSS JOIN LATERAL (
    SELECT round((random() * 6)::numeric, 2)::float AS m1,
           round((random() * 5)::numeric, 2)::float AS m2,
           round((random() * 4)::numeric, 2)::float AS m3,
           round((random() * 6)::numeric, 2)::float AS m4,
           round((random() * 3 + a * 0)::numeric, 2)::float AS m5
) r
WHERE mod(a, %(step)s) = mod(%(ix)s, %(step)s);

INSERT INTO post_evaluations (snapshot_id, post_id, model, scores, evaluated_at)
SELECT o.id, 'post-' || e, 'judge-1',
       jsonb_build_object('harm_enablement', jsonb_build_object('score', floor(random() * 21) / 2),
                          'manipulation', jsonb_build_object('score', floor(random() * 11) / 2 + e * 0)),
       o.created_at
FROM one_more o CROSS JOIN generate_series(1, %(evals_per_snapshot)s) AS e;

INSERT INTO comment_evaluations (snapshot_id, comment_id, post_id, author_handle, model, scores,
                                 evaluated_at)
SELECT o.id, 'comment-' || e, 'post-' || e, 'agent_' || e, 'judge-1',
       jsonb_build_object('harm_enablement', jsonb_build_object('score', floor(random() * 21) / 2 + e * 0)),
       o.created_at
FROM one_more o CROSS JOIN generate_series(1, %(evals_per_snapshot)s / 2) AS e;

SELECT id, created_at FROM one_more;
