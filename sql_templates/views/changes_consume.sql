-- the changes %(ids)s are folded into the view %(name)s; a change no view needs any more goes
UPDATE moltctl_view_changes
SET pending = array_remove(pending, %(name)s::text)
WHERE id = ANY(%(ids)s::bigint[]);

DELETE FROM moltctl_view_changes
WHERE id = ANY(%(ids)s::bigint[]) AND pending = '{}';
