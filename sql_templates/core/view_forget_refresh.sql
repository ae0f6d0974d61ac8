-- a view (re)created: its next refresh is a full one
DELETE FROM moltctl_view_refreshes WHERE view_name = %(name)s
