"""Helpers for the ingest tests: write small bundles and run dirs, check SCD2 invariants."""

from __future__ import annotations

import gzip
import json
import signal
from pathlib import Path

import pytest

AGENT_ATTRS = (
    "handle, display_name, bio, avatar_url, karma, follower_count, following_count, "
    "is_claimed, is_active, created_at_source, last_active, owner_info"
)
SUBMOLT_ATTRS = (
    "name, display_name, description, subscriber_count, post_count, owner_agent_id, "
    "banner_color, theme_color, avatar_url, banner_url, moderators, created_at_source"
)


def write_bundle(
    path: Path, run_id: str, records: list[dict], *, created_at=None, site_stats=None
) -> Path:
    head = {"type": "snapshot", "run_id": run_id}
    if created_at:
        head["created_at"] = created_at
    if site_stats is not None:
        head["site_stats"] = site_stats
    lines = [json.dumps(head)] + [json.dumps(r) for r in records]
    data = ("\n".join(lines) + "\n").encode()
    if path.suffix == ".gz":
        data = gzip.compress(data)
    path.write_bytes(data)
    return path


def write_json(path: Path, value) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value))
    return path


def rows(conn, sql: str, params=None) -> list[tuple]:
    return conn.execute(sql, params).fetchall()


def history(conn) -> tuple[list, list]:
    """Agents and submolts history, surrogate ids aside, snapshot ids as run ids."""
    q = (
        "SELECT v.external_id, {cols}, v.valid_from, v.valid_to, v.is_current, s.run_id "
        "FROM {table} v JOIN snapshots s ON s.id = v.snapshot_id "
        "ORDER BY v.external_id, v.valid_from"
    )
    out = []
    for table, attrs in (("agents", AGENT_ATTRS), ("submolts", SUBMOLT_ATTRS)):
        cols = ", ".join("v." + c for c in attrs.split(", "))
        out.append(rows(conn, q.format(cols=cols, table=table)))
    return out[0], out[1]


def assert_invariants(conn) -> None:
    """Per external_id exactly one current version; versions chain with no gap or overlap;
    a version starts at its snapshot's time; no snapshot is left running."""
    for table in ("agents", "submolts"):
        bad_current = rows(
            conn,
            f"SELECT external_id FROM {table} GROUP BY external_id "
            "HAVING count(*) FILTER (WHERE is_current) <> 1",
        )
        assert bad_current == [], f"{table}: not exactly one current version: {bad_current}"
        bad_chain = rows(
            conn,
            f"""SELECT external_id, valid_from, valid_to, nxt FROM (
                   SELECT external_id, valid_from, valid_to,
                          lead(valid_from) OVER (PARTITION BY external_id ORDER BY valid_from)
                              AS nxt
                   FROM {table}) o
                WHERE valid_to IS DISTINCT FROM nxt""",
        )
        assert bad_chain == [], f"{table}: gap or overlap: {bad_chain}"
        bad_start = rows(
            conn,
            f"SELECT v.external_id FROM {table} v JOIN snapshots s ON s.id = v.snapshot_id "
            "WHERE s.created_at <> v.valid_from",
        )
        assert bad_start == [], f"{table}: version not starting at its snapshot's time"
    assert rows(conn, "SELECT run_id FROM snapshots WHERE status = 'running'") == []


def data_counts(conn) -> dict[str, int]:
    tables = (
        "posts",
        "comments",
        "post_evaluations",
        "comment_evaluations",
        "agent_score_history",
        "agents",
        "submolts",
        "agent_observations",
        "submolt_observations",
    )
    return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}


def agent(ext: str, **fields) -> dict:
    return {"type": "agent", "id": ext, **fields}


def post(ext: str, by: str, **fields) -> dict:
    return {
        "type": "post",
        "id": ext,
        "title": f"title {ext}",
        "content": f"content {ext}",
        "upvotes": 1,
        "downvotes": 0,
        "comment_count": 0,
        "created_at": "2026-01-30T10:00:00Z",
        "author": {"id": by, "name": f"h_{by}"},
        "submolt": {"id": "s1", "name": "general", "display_name": "General"},
        **fields,
    }


@pytest.fixture
def no_hang():
    """A hang fails the test instead of the suite (a FIFO read blocks forever)."""

    def alarm(*_):
        raise TimeoutError("hung: moltctl blocked on the input")

    old = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(60)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, old)
