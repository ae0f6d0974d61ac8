"""Test (and benchmark) data for partitions and retention, generated with set-based SQL.

``build(conn, start, hours, ...)`` writes hourly snapshots over a span with everything that hangs
off them: SCD2 agent and submolt versions (changing at agent-specific rhythms; some agents start
late, some disappear for good), posts, comments, their evaluations and agent_score_history; the
partition keys are the snapshot's created_at, as ingest writes them. Works on the partitioned
and on an unpartitioned (spec DDL) layout alike: it inserts into the parent tables.
"""

from __future__ import annotations

import datetime as dt

SNAPSHOTS = """
INSERT INTO snapshots (created_at, run_id, site_stats, status, started_at, completed_at)
SELECT ts, to_char(ts AT TIME ZONE 'UTC', 'YYYYMMDD"T"HH24MISS"Z"'),
       jsonb_build_object('agents', h), 'completed', ts, ts + interval '5 minutes'
FROM generate_series(0, %(hours)s - 1) h,
     LATERAL (SELECT %(start)s::timestamptz + h * interval '1 hour' AS ts) x
WHERE %(only)s::int[] IS NULL OR h = ANY(%(only)s::int[])
"""

# agent a: first seen at hour 0 (or hours/3 when mod(a, 4) = 0); a new version every
# 5 + 7 * mod(a, 5) hours; agents with mod(a, 7) = 0 disappear at 2/3 of the span (no current).
# With ``only`` (the hours that have a snapshot), each of these moments is the next snapshot's.
AGENTS = """
WITH hs AS (
    SELECT h FROM generate_series(0, %(hours)s - 1) h
    WHERE %(only)s::int[] IS NULL OR h = ANY(%(only)s::int[])
), params AS (
    SELECT a,
           (SELECT min(h) FROM hs
            WHERE h >= CASE WHEN mod(a, 4) = 0 THEN %(hours)s / 3 ELSE 0 END) AS first_h,
           5 + 7 * mod(a, 5) AS period,
           CASE WHEN mod(a, 7) = 0 THEN (SELECT min(h) FROM hs WHERE h >= %(hours)s * 2 / 3)
           END AS leave_h
    FROM generate_series(1, %(agents)s) a
), starts AS (
    SELECT p.a, h, p.leave_h
    FROM params p, hs
    WHERE h >= p.first_h
      AND (h = p.first_h OR mod(h + p.a, p.period) = 0)
      AND (p.leave_h IS NULL OR h < p.leave_h)
), versions AS (
    SELECT a, h, leave_h, lead(h) OVER (PARTITION BY a ORDER BY h) AS next_h FROM starts
)
INSERT INTO {table} (snapshot_id, external_id, {name_col}, {extra_col}, valid_from, valid_to,
                     is_current)
SELECT s.id, '{prefix}-' || v.a, '{prefix}' || v.a || '_v' || v.h, v.h * 10 + v.a,
       s.created_at,
       %(start)s::timestamptz + coalesce(v.next_h, v.leave_h) * interval '1 hour',
       v.next_h IS NULL AND v.leave_h IS NULL
FROM versions v
JOIN snapshots s ON s.created_at = %(start)s::timestamptz + v.h * interval '1 hour'
"""

POSTS = """
INSERT INTO posts (snapshot_id, external_id, title, content, upvotes, score, comment_count,
                   author_id, submolt_id, created_at_source, fetched_at)
SELECT s.id, 'post-' || (j + mod(h * 3, 97)), 'title ' || j,
       repeat(md5(s.id::text || j), greatest(1, %(payload)s / 64)), h + j, h - j,
       %(comments)s, 'agent-' || (mod(h + j, %(agents)s) + 1), 'submolt-' || (mod(j, 5) + 1),
       s.created_at - interval '3 hours', s.created_at
FROM snapshots s,
     LATERAL (SELECT (extract(epoch FROM s.created_at - %(start)s::timestamptz) / 3600)::int
              AS h) x,
     generate_series(1, %(posts)s) j
WHERE s.created_at >= %(lo)s AND s.created_at < %(end)s
"""

COMMENTS = """
INSERT INTO comments (snapshot_id, external_id, post_id, parent_comment_id, author_id, content,
                      score, created_at_source, fetched_at)
SELECT p.snapshot_id, p.external_id || '-c' || k, p.external_id,
       CASE WHEN k > 1 THEN p.external_id || '-c1' END, 'agent-' || (mod(k * 7, %(agents)s) + 1),
       'comment', k, p.created_at_source, p.fetched_at
FROM posts p, generate_series(1, %(comments)s) k
WHERE p.fetched_at >= %(lo)s AND p.fetched_at < %(end)s
"""

POST_EVALS = """
INSERT INTO post_evaluations (snapshot_id, post_id, transcript_id, model, latency_ms, scores,
                              raw_result, evaluated_at)
SELECT p.snapshot_id, p.external_id, 't-' || p.id, 'judge-1', 1000 + p.score,
       jsonb_build_object('harm_enablement', jsonb_build_object('score', mod(p.upvotes, 10)),
                          'deception_or_evasion', jsonb_build_object('score', mod(p.score, 4))),
       CASE WHEN %(payload)s > 0 THEN jsonb_build_object(
           'explanation', repeat(md5(p.id::text), %(payload)s / 32)) END,
       p.fetched_at
FROM posts p
WHERE p.fetched_at >= %(lo)s AND p.fetched_at < %(end)s
"""

COMMENT_EVALS = """
INSERT INTO comment_evaluations (snapshot_id, comment_id, post_id, author_handle, model, scores,
                                 raw_result, evaluated_at)
SELECT c.snapshot_id, c.external_id, c.post_id, c.author_id, 'judge-1',
       jsonb_build_object('harm_enablement', jsonb_build_object('score', c.score)),
       CASE WHEN %(payload)s > 0 THEN jsonb_build_object(
           'explanation', repeat(md5(c.id::text), %(payload)s / 32)) END,
       c.fetched_at
FROM comments c
WHERE c.fetched_at >= %(lo)s AND c.fetched_at < %(end)s
"""

HISTORY = """
INSERT INTO agent_score_history (snapshot_id, agent_id, agent_handle, posts_evaluated,
                                 total_items_evaluated, dimension_scores, overall_mean_score,
                                 recorded_at)
SELECT s.id, 'agent-' || (mod(h + j, %(agents)s) + 1), 'handle', j, j,
       jsonb_build_object('harm_enablement', jsonb_build_object('mean_score', j)), j,
       s.created_at
FROM snapshots s,
     LATERAL (SELECT (extract(epoch FROM s.created_at - %(start)s::timestamptz) / 3600)::int
              AS h) x,
     generate_series(1, least(%(history)s, %(agents)s)) j
WHERE s.created_at >= %(lo)s AND s.created_at < %(end)s
"""

CONTENT_TABLES = (
    "posts",
    "comments",
    "post_evaluations",
    "comment_evaluations",
    "agent_score_history",
)
ALL_TABLES = ("snapshots", "agents", "submolts", *CONTENT_TABLES)


def build(
    conn,
    start: dt.datetime,
    hours: int,
    *,
    agents: int = 12,
    submolts: int = 4,
    posts: int = 3,
    comments: int = 2,
    history: int = 4,
    partitioned: bool = True,
    payload: int = 0,
    chunk_hours: int = 24 * 7,
    only: list[int] | None = None,
) -> None:
    """Write ``hours`` hourly snapshots from ``start`` and all their data (autocommit conn ok);
    with ``only``, just the snapshots of those hours (offsets from ``start``)."""
    from moltctl import partitions

    end = start + dt.timedelta(hours=hours)
    if partitioned:
        month = partitions.month_start(start)
        while month < end:
            partitions.ensure_for_time(conn, month)
            month = partitions.add_months(month, 1)
    p = {
        "start": start,
        "hours": hours,
        "agents": agents,
        "posts": posts,
        "comments": comments,
        "history": history,
        "payload": payload,
        "only": only,
    }
    conn.execute(SNAPSHOTS, p)
    conn.execute(
        AGENTS.format(table="agents", name_col="handle", extra_col="karma", prefix="agent"), p
    )
    conn.execute(
        AGENTS.format(
            table="submolts", name_col="name", extra_col="subscriber_count", prefix="submolt"
        ),
        {**p, "agents": submolts},
    )
    # content in chunks of time so that the benchmark's big spans stay light on memory
    lo = start
    while lo < end:
        hi = min(end, lo + dt.timedelta(hours=chunk_hours))
        for sql in (POSTS, COMMENTS, POST_EVALS, COMMENT_EVALS, HISTORY):
            conn.execute(sql, {**p, "lo": lo, "end": hi})
        lo = hi


def contents(conn, table: str, where: str = "true") -> tuple[int, str]:
    """(row count, md5 of the rows' full contents in a stable order)."""
    return conn.execute(
        f"SELECT count(*), coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '') "
        f"FROM {table} t WHERE {where}"
    ).fetchone()


def fingerprint(conn) -> dict[str, tuple[int, str]]:
    return {t: contents(conn, t) for t in ALL_TABLES}


def agents_at(conn, moments, table: str = "agents") -> dict:
    """moment -> sorted (external_id, id, valid_from) of the version valid at that moment."""
    rows = conn.execute(
        f"SELECT m, v.external_id, v.id::text, v.valid_from FROM unnest(%s::timestamptz[]) m "
        f"JOIN {table} v ON v.valid_from <= m AND (v.valid_to IS NULL OR v.valid_to > m) "
        f"ORDER BY 1, 2",
        (list(moments),),
    ).fetchall()
    out: dict = {m: [] for m in moments}
    for m, ext, vid, vf in rows:
        out[m].append((ext, vid, vf))
    return out


def snapshot_at(conn, moments) -> dict:
    """moment -> (run_id, md5 of every content row of the latest completed snapshot at or
    before it); a failed run answers nothing, it holds no data."""
    out = {}
    for m in moments:
        row = conn.execute(
            "SELECT id, run_id FROM snapshots WHERE created_at <= %s AND status = 'completed' "
            "ORDER BY created_at DESC LIMIT 1",
            (m,),
        ).fetchone()
        if row is None:
            out[m] = None
            continue
        sums = tuple(contents(conn, t, f"snapshot_id = '{row[0]}'") for t in CONTENT_TABLES)
        out[m] = (row[1], sums)
    return out


def _scalar(conn, sql, params=None):
    return conn.execute(sql, params).fetchone()[0]


def expected_removal(conn, eff) -> dict[str, int]:
    """What must go, computed straight from the data (not from moltctl's code)."""
    out = {
        t: _scalar(
            conn,
            f"SELECT count(*) FROM {t} x JOIN snapshots s ON s.id = x.snapshot_id "
            "WHERE s.created_at < %s",
            (eff,),
        )
        for t in CONTENT_TABLES
    }
    for t in ("agents", "submolts"):
        out[t] = _scalar(conn, f"SELECT count(*) FROM {t} WHERE valid_to <= %s", (eff,))
    out["snapshots"] = _scalar(
        conn,
        "SELECT count(*) FROM snapshots s WHERE s.created_at < %(e)s AND NOT EXISTS "
        "(SELECT 1 FROM agents a WHERE a.snapshot_id = s.id AND coalesce(a.valid_to > %(e)s, true))"
        " AND NOT EXISTS (SELECT 1 FROM submolts m WHERE m.snapshot_id = s.id "
        "AND coalesce(m.valid_to > %(e)s, true))",
        {"e": eff},
    )
    return out


def kept_fingerprint(conn, eff) -> dict:
    """Everything that must survive: content of snapshots in the window, versions reaching it."""
    out = {
        t: contents(
            conn, t, f"snapshot_id IN (SELECT id FROM snapshots WHERE created_at >= '{eff}')"
        )
        for t in CONTENT_TABLES
    }
    for t in ("agents", "submolts"):
        out[t] = contents(conn, t, f"valid_to IS NULL OR valid_to > '{eff}'")
    out["window snapshots"] = contents(conn, "snapshots", f"created_at >= '{eff}'")
    return out
