-- what snapshot_complete.sql writes, computed first: on Citus an UPDATE of a distributed or
-- reference table may neither call a volatile function nor read a temp table
SELECT clock_timestamp() AS completed_at, (SELECT avg(karma)::float8 FROM m_agents) AS avg_karma
