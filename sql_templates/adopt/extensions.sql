SELECT extname::text FROM pg_extension ORDER BY 1
