"""--quiet / -q, for cron: nothing on success but the data asked for, errors on stderr;
accepted before or after the command."""

from __future__ import annotations

import pytest

from tests.helpers.ingest import agent, post, write_bundle

RUN = "20260130T100000Z"


def _commands(tmp_path) -> list[tuple[list[str], bool]]:
    """(arguments, prints data on stdout) for every command, each of which succeeds."""
    bundle = write_bundle(tmp_path / "r.ndjson", RUN, [agent("a1", name="x"), post("p1", "a1")])
    return [
        (["init"], False),
        (["migrate"], False),
        (["ingest-file", str(bundle)], False),
        (["ingest-file", str(bundle)], False),  # already loaded
        (["refresh-views"], False),
        (["create-partition"], False),
        (["purge", "--days", "36500"], False),  # a century: removes nothing
        (["purge", "--before", "2026-01-30T10:30:00Z", "--yes"], False),
        (["generate", str(tmp_path / "gen"), "--runs", "1", "--posts", "2"], True),
        (["status"], True),
        (["query", "latest-snapshot"], True),
        (["server", "status"], True),
    ]


@pytest.mark.parametrize("where", ["before", "after"])
def test_quiet_prints_nothing_but_data(tmp_path, cli, where):
    for args, data in _commands(tmp_path):
        argv = ["-q", *args] if where == "before" else [*args, "-q"]
        r = cli(*argv)
        assert r.exit_code == 0, (args, r.stderr)
        assert r.stderr == "", (args, r.stderr)
        assert bool(r.stdout) == data, (args, r.stdout)


def test_quiet_still_reports_errors(tmp_path, cli):
    r = cli("ingest-file", str(tmp_path / "missing"), "--quiet")
    assert r.exit_code == 1
    assert r.stderr.startswith("error: ") and "no such file" in r.stderr
    assert r.stdout == ""


def test_quiet_after_a_double_dash_is_an_argument(tmp_path, cli):
    r = cli("ingest-file", "--", "-q")
    assert r.exit_code == 1 and "-q: no such file" in r.stderr
