-- the cutoff from the server's clock (never this machine's); days may be fractional
SELECT now() - %(days)s::float8 * interval '1 day' AS cutoff
