-- the rows agent_leaderboard shows: the rank blocks count them (the view would compute ranks)
SELECT coalesce(sum(n), 0)::bigint FROM agent_leaderboard_blocks
