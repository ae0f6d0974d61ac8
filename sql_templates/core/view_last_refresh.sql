-- how the view was last refreshed (no row, or no method before 005: never by this moltctl)
SELECT method, refreshed_at FROM moltctl_view_refreshes WHERE view_name = %(name)s
