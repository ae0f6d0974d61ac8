-- the latest rebalance job: its state and how many of its moves are done
SELECT job_id, state, started_at, finished_at,
       coalesce((details -> 'task_state_counts' ->> 'done')::int, 0) AS done,
       (SELECT sum(value::int) FROM jsonb_each_text(details -> 'task_state_counts'))::int
           AS total,
       details
FROM citus_rebalance_status()
