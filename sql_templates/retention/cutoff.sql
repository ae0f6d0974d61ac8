-- the cutoff from the server's clock (never this machine's)
SELECT now() - make_interval(days => %(days)s) AS cutoff
