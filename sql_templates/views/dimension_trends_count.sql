SELECT count(*) FROM dimension_trends
