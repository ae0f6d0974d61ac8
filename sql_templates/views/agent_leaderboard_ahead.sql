-- the rows ahead of each block
UPDATE agent_leaderboard_blocks b
SET ahead = c.ahead
FROM (
    SELECT lo_neg, lo_agent,
           coalesce(sum(n) OVER (ORDER BY lo_neg, lo_agent
                                 ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS ahead
    FROM agent_leaderboard_blocks
) c
WHERE b.lo_neg = c.lo_neg AND b.lo_agent = c.lo_agent AND b.ahead <> c.ahead;

