"""A failed run (a bad bundle leaves a ``failed`` snapshot row, as documented) never poses as
data: every rule that picks snapshots (status, latest-snapshot, delta, the views) considers
completed snapshots only (issue 9 item 1). purge's window is tested in test_cli_purge.py."""

from __future__ import annotations

import json

import pytest


def _json(cli, *args):
    r = cli(*args, "-f", "json")
    assert r.exit_code == 0, r.stderr
    return json.loads(r.stdout)


@pytest.fixture
def loaded(tmp_path, cli):
    gen = cli(
        "generate", str(tmp_path / "runs"), "--format", "bundle", "--seed", "2", "--runs", "3",
        "--posts", "8", "--agents", "20", "--start", "2026-01-30T10:00:00Z",
    )  # fmt: skip
    assert gen.exit_code == 0, gen.stderr
    paths = gen.stdout.split()
    r = cli("ingest-file", *paths)
    assert r.exit_code == 0, r.stderr
    return [p.rsplit("/", 1)[-1].split(".")[0] for p in paths]


def _fail(cli, tmp_path, run_id: str) -> None:
    bad = tmp_path / f"{run_id}.ndjson"
    bad.write_text(json.dumps({"type": "snapshot", "run_id": run_id}) + "\n{not json\n")
    assert cli("ingest-file", str(bad)).exit_code == 1


def _answers(cli):
    assert cli("refresh-views").exit_code == 0
    return (
        _json(cli, "status")["latest_snapshot"]["run_id"],
        _json(cli, "query", "latest-snapshot", "--limit", "10"),
        _json(cli, "query", "delta"),
        _json(cli, "query", "growth"),
        _json(cli, "query", "dimension-trends"),
        _json(cli, "query", "leaderboard"),
    )


@pytest.mark.parametrize("when", ["20260130T235900Z", "20260130T113000Z"], ids=["last", "between"])
def test_a_failed_run_changes_no_answer(tmp_path, cli, conn, loaded, when):
    before = _answers(cli)
    assert before[0] == loaded[-1]
    _fail(cli, tmp_path, when)
    assert conn.execute("SELECT status FROM snapshots WHERE run_id = %s", (when,)).fetchone() == (
        "failed",
    )
    assert _answers(cli) == before
