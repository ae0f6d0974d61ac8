-- temp tables get no autovacuum statistics: give the planner real row counts before the joins
-- (the join keys only: statistics of the text columns cost more than the joins they plan)
ANALYZE stg_agents (external_id), stg_submolts (external_id), stg_posts (external_id),
    stg_comments (external_id), stg_evals (item_id, author_handle), stg_dims
