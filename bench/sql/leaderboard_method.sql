-- how agent_leaderboard was last refreshed (ingest: an ingest folded its snapshot in)
SELECT method FROM moltctl_view_refreshes WHERE view_name = 'agent_leaderboard'
