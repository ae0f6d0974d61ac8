"""Which observations of a comment need the per-field merge, decided while the rows stream.

A run observes most comments once (a bundle), or a second time in a form that adds nothing
(a run directory's ``all_comments.json`` after the post detail's tree: same fields, lower
precedence, the score its detail implies). Such comments need no merge: the first observation
is COPied straight into ``comments`` (what the merge would have passed through), and a later
observation that cannot change the stored row is dropped. Only when an observation could
change it is the comment *dirty*: that observation and every later one are staged, and after
the COPY the stored row is put back into staging as the observations it stands for
(``dirty_rows``), deleted, and merged with the rest (``sql_templates/ingest/direct_*``).

Why dropping is exact: the merge takes, per field, the first known value by (rank, seq). An
observation whose every known field is already known from an observation of lower or equal
rank (equal: the earlier one wins) wins no field, whatever comes later. The one exception
allowed is ``score``: the stored score of a comment observed without one is
``upvotes - downvotes``; a later observation whose score equals the stored one changes
nothing now, but it does win the field, so it is remembered (its rank and seq) and put back
as an observation of its own if the comment turns dirty.
"""

from __future__ import annotations

# what route() decides
DIRECT, STAGE, DROP = "direct", "stage", "drop"
NEVER = 1 << 15  # the rank of a field nobody knows (ranks are SMALLINT)


def stored_score(score, upvotes, downvotes):
    """The score the final table stores (the merge's ``coalesce(score, upvotes - downvotes)``)."""
    if score is not None:
        return score
    if upvotes is None or downvotes is None:
        return None
    return upvotes - downvotes


class Router:
    """The state of each comment seen so far: [seq, rank, known-fields mask, stored score,
    rank and seq of the observation the score comes from (NEVER, 0: none), dirty]."""

    def __init__(self, fields: tuple[str, ...]):
        self.score = fields.index("score")
        self.up = fields.index("upvotes")
        self.down = fields.index("downvotes")
        self.state: dict[str, list] = {}
        self.dirty = 0

    def route(self, seq: int, rank: int, row: tuple) -> tuple[str, tuple]:
        """(DIRECT, the row to COPY into the final table) | (STAGE, row) | (DROP, row)."""
        st = self.state.get(row[0])
        if st is None:
            mask = 0
            for i, v in enumerate(row):
                if v is not None:
                    mask |= 1 << i
            s = row[self.score]
            stored = stored_score(s, row[self.up], row[self.down])
            known = s is not None
            self.state[row[0]] = [seq, rank, mask, stored, rank if known else NEVER, seq, False]
            return DIRECT, row if known else row._replace(score=stored)
        if st[6]:
            return STAGE, row
        first_rank, mask = st[1], st[2]
        score_to = None
        for i, v in enumerate(row):
            if v is None or i == 0:  # 0: the id itself
                continue
            if i == self.score:
                if st[4] <= rank:
                    continue  # the score's current source wins
                if v == st[3]:
                    score_to = (rank, seq)  # wins the field, changes nothing stored
                    continue
            elif mask >> i & 1 and first_rank <= rank:
                continue  # the first observation wins the field
            st[6] = True
            self.dirty += 1
            return STAGE, row
        if score_to is not None:
            st[4], st[5] = score_to
        return DROP, row

    def dirty_rows(self):
        """Per dirty comment: (external_id, seq and rank of its first observation, whether that
        one lacked the score, rank and seq of the score's later source or None, None)."""
        for ext, (seq, rank, mask, _, s_rank, s_seq, dirty) in self.state.items():
            if dirty:
                later = s_rank != NEVER and (s_rank, s_seq) != (rank, seq)
                yield (
                    ext,
                    seq,
                    rank,
                    not mask >> self.score & 1,
                    s_seq if later else None,
                    s_rank if later else None,
                )
