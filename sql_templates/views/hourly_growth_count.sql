SELECT count(*) FROM hourly_growth
