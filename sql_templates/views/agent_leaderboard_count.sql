-- the rows agent_leaderboard shows (counted on the table: the view would compute each rank)
SELECT count(*) FROM agent_leaderboard_rows WHERE -overall_mean_score < 0
