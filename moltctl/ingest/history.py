"""agent_score_history computed while the rows stream, then COPied (no aggregation in SQL).

The rows equal what ``sql_templates/ingest/score_history.sql.j2`` computes from the staged
rows (tests compare both): a post evaluation belongs to the post's author, a comment
evaluation to the comment's author, else to the run's agent with the evaluation's author
handle. Each is resolved by the same per-field merge the SQL does (the first known value by
observation precedence, then order), so this module watches the rows the sink stages: the
authors of posts and comments, the agents' handles, and each evaluation's numeric scores
(kept compactly: one entry per evaluation, in input order).

Exactness: the scores are summed per agent and dimension in input order, the order the SQL
aggregate reads the staged rows in (for integer or half-point scores, the judges', any order
gives the same sum). ``overall_mean_score``, the mean of an agent's dimension means, is the
exact sum of the means rounded once (``math.fsum``), where the SQL adds them in its hash
table's order: the two agree to the last bit or two, and agents whose means are the same
numbers now get the same overall score whatever the order of their dimensions. What depends
on the database's collation (the highest dimension among equal means, the agent a handle
names when several agents share it) is asked of the database.
"""

from __future__ import annotations

import math
from array import array

import orjson

from moltctl import sqlfiles
from moltctl.ingest.records import POST_EVAL
from moltctl.rows import dicts
from moltctl.sqlrun import run_script

UNKNOWN = 1 << 15  # the rank of a field nobody knows (ranks are SMALLINT)


def _num(v: float) -> float | int:
    """A float as jsonb holds PostgreSQL's float8: an integral one as an integer (``3``, not
    ``3.0``); others as their shortest digits, which orjson writes like float8out."""
    return int(v) if v.is_integer() and abs(v) < 1e16 else v


class _FirstKnown:
    """Posts, comments or agents: an index per id, and per index a value (a post's or
    comment's author, an agent's handle) from the best-ranked observation that knew it, as
    the merge decides it. Compact: a full-size run has 200,000 comments and 220,000
    evaluations; the ids and handles repeat, so one string object each is kept in ``strings``."""

    __slots__ = ("idx", "rank", "value", "strings")

    def __init__(self, strings: dict[str, str]):
        self.idx: dict[str, int] = {}
        self.rank = array("i")
        self.value: list = []
        self.strings = strings

    def index(self, ext: str) -> int:
        i = self.idx.get(ext)
        if i is None:
            i = self.idx[ext] = len(self.value)
            self.rank.append(UNKNOWN)
            self.value.append(None)
        return i

    def offer(self, i: int, rank: int, value: str | None) -> None:
        """An observation of ``i`` at ``rank``: its value is kept if known and the observation
        ranks before the one that gave the value held."""
        if value is not None and rank < self.rank[i]:
            self.rank[i] = rank
            self.value[i] = self.strings.setdefault(value, value)

    def get(self, ext: str) -> str | None:
        i = self.idx.get(ext)
        return None if i is None else self.value[i]

    def items(self):
        """(id, value) of every id seen."""
        value = self.value
        return ((ext, value[i]) for ext, i in self.idx.items())


class History:
    """What agent_score_history needs, collected from the rows as they are staged."""

    def __init__(self):
        self.strings: dict[str, str] = {}  # agent ids and handles, one object each
        self.posts = _FirstKnown(self.strings)
        self.real_posts: set[int] = set()  # posts that make a row (not only a permalink)
        self.comments = _FirstKnown(self.strings)
        self.handles_of = _FirstKnown(self.strings)  # agent -> its handle
        self.dims: dict[str, int] = {}  # dimension -> its index, in order first seen
        # one entry per evaluation: whether a post's, its item's index, its author handle
        # (interned), and its scores as (dimension index, score) in flat arrays from offsets[i]
        self.is_post = bytearray()
        self.items = array("l")
        self.handles: list = []
        self.offsets = array("L", [0])
        self.dim_of = array("H")
        self.scores = array("d")

    # -- while staging (each call: one staged row, in staging order) ---------------------

    def post(self, rank: int, row) -> None:
        i = self.posts.index(row[0])
        if rank < POST_EVAL:
            self.real_posts.add(i)
        self.posts.offer(i, rank, row.author_id)

    def comment(self, rank: int, row) -> None:
        self.comments.offer(self.comments.index(row[0]), rank, row.author_id)

    def agent(self, rank: int, row) -> None:
        self.handles_of.offer(self.handles_of.index(row[0]), rank, row.handle)

    def evaluation(self, row) -> None:
        self.is_post.append(row.is_post)
        self.items.append((self.posts if row.is_post else self.comments).index(row.item_id))
        handle = row.author_handle
        self.handles.append(handle if handle is None else self.strings.setdefault(handle, handle))
        scores = row.scores
        if scores:
            dims = self.dims
            for dim in scores:
                if dim not in dims:
                    dims[dim] = len(dims)
            self.dim_of.extend([dims[dim] for dim in scores])
            self.scores.extend(scores.values())
        self.offsets.append(len(self.scores))

    # -- before the rows, after them, after the SCD2 step -------------------------------------

    def prepare(self, conn) -> None:
        """Read the registered dimensions (before the COPY: the connection is free)."""
        self.registered = dicts(conn.execute(sqlfiles.render("ingest/score_columns.sql")))
        self.agents = None

    def aggregate(self) -> None:
        """Per agent, what its evaluations add up to: called when every row is staged, while
        the server still works through the queued COPY batches. Not done here when handles
        are shared (which agent a handle names is then the database's order): ``rows``."""
        by_handle = self._by_handle()
        if by_handle is not None:
            self._aggregate(by_handle)

    def rows(self, conn, sid, t) -> tuple[list[str], list[tuple]]:
        """(columns, rows) of agent_score_history for snapshot ``sid`` at ``t``."""
        if self.agents is None:
            self._aggregate(self._by_handle(conn))
        agents, names = self.agents, list(self.dims)
        flags = []  # (column, dimension index) of the registered dimensions with a flag
        for r in self.registered:
            if r["flag"] is not None:
                flags.append((r["flag"], self.dims.get(r["name"])))
        # the dimensions in the database's order of their names (ties of the highest mean)
        order = run_script(conn, "ingest/history_name_order.sql", {"names": names})["names"]
        rank_of = {name: k for k, name in enumerate(order or [])}
        dim_rank = [rank_of[n] for n in names]
        known = self._current_handles(conn, [a for a in agents if self.handles_of.get(a) is None])
        columns = [
            "snapshot_id", "agent_id", "agent_handle", "posts_evaluated",
            "comments_evaluated", "total_items_evaluated", "dimension_scores",
            "overall_mean_score", "highest_dimension", "highest_dimension_score",
            *(flag for flag, _ in flags), "recorded_at",
        ]  # fmt: skip
        out = []
        for agent, (n_posts, n_comments, stats) in agents.items():
            handle = self.handles_of.get(agent)
            if handle is None:
                handle = known.get(agent, agent)
            doc, means = {}, []
            top = None  # (mean, name order, index) of the highest positive mean
            for d, (n, total, hi, lo, high) in stats.items():
                mean = total / n
                means.append(mean)
                doc[names[d]] = {
                    "mean_score": _num(mean),
                    "max_score": _num(hi),
                    "min_score": _num(lo),
                    "count": n,
                    "high_count": int(high),
                }
                if mean > 0 and (top is None or (-mean, dim_rank[d]) < (-top[0], top[1])):
                    top = (mean, dim_rank[d], d)
            out.append(
                (
                    sid,
                    agent,
                    handle,
                    n_posts,
                    n_comments,
                    n_posts + n_comments,
                    orjson.dumps(doc).decode(),
                    math.fsum(means) / len(means) if means else 0.0,
                    names[top[2]] if top else None,
                    top[0] if top else 0.0,
                    *(d is not None and d in stats and stats[d][4] > 0 for _, d in flags),
                    t,
                )
            )
        return columns, out

    def _aggregate(self, by_handle: dict) -> None:
        thresholds = [7.0] * len(self.dims)
        for r in self.registered:
            i = self.dims.get(r["name"])
            if i is not None and r["threshold"] is not None:
                thresholds[i] = r["threshold"]
        agents: dict[str, list] = {}  # agent -> [posts, comments, {dim index: stats}]
        post_author, real = self.posts.value, self.real_posts
        comment_author, handles, is_post = self.comments.value, self.handles, self.is_post
        offsets, dim_of, scores = self.offsets, self.dim_of, self.scores
        for i, item in enumerate(self.items):
            if is_post[i]:
                agent = post_author[item] if item in real else None
                if agent is None:
                    continue
            else:
                agent = comment_author[item]
                if agent is None:
                    agent = by_handle.get(handles[i])
                    if agent is None:
                        continue
            acc = agents.get(agent)
            if acc is None:
                acc = agents[agent] = [0, 0, {}]
            acc[0 if is_post[i] else 1] += 1
            stats = acc[2]
            a, b = offsets[i], offsets[i + 1]
            for d, v in zip(dim_of[a:b], scores[a:b], strict=True):
                s = stats.get(d)
                if s is None:
                    stats[d] = [1, v, v, v, v >= thresholds[d]]  # n, sum, max, min, high
                else:
                    s[0] += 1
                    s[1] += v
                    if v > s[2]:
                        s[2] = v
                    elif v < s[3]:
                        s[3] = v
                    if v >= thresholds[d]:
                        s[4] += 1

        self.agents = agents

    def _by_handle(self, conn=None) -> dict | None:
        """handle -> the run's agent with that handle (the first by the database's order of
        their ids when several share it: one query for all of them; None without ``conn``)."""
        owners: dict[str, list] = {}
        for ext, handle in self.handles_of.items():
            if handle is not None:
                owners.setdefault(handle, []).append(ext)
        shared = [ext for ids in owners.values() if len(ids) > 1 for ext in ids]
        if shared:
            if conn is None:
                return None
            order = run_script(conn, "ingest/history_name_order.sql", {"names": shared})
            rank = {ext: k for k, ext in enumerate(order["names"])}
        return {h: ids[0] if len(ids) == 1 else min(ids, key=rank.get) for h, ids in owners.items()}

    @staticmethod
    def _current_handles(conn, agents: list[str]) -> dict[str, str]:
        """The current version's handle of agents this run observed without one."""
        if not agents:
            return {}
        found = dicts(
            conn.execute(sqlfiles.render("ingest/history_current_handles.sql"), {"ids": agents})
        )
        return {r["external_id"]: r["handle"] for r in found}
