-- temp tables get no autovacuum statistics: give the planner real row counts before the joins
ANALYZE stg_agents, stg_submolts, stg_posts, stg_comments, stg_evals
