"""The fault suite: moltctl's data-changing commands killed (kill -9) at several moments and run
side by side, in real processes against a real server. Afterwards the invariants hold
(tests/faults.py) and re-running the command finishes the job. Heavier variants are slow-marked.
"""

from __future__ import annotations

import time

import pytest

from tests import faults


@pytest.fixture(scope="module")
def jan_feb(tmp_path_factory):
    """A large January run and a small February one (neither month has partitions yet)."""
    out = tmp_path_factory.mktemp("jan_feb")
    (jan,) = faults.generate(
        out / "jan", "--runs", "1", "--agents", "1500", "--posts", "600",
        "--comments-per-post", "10", "--seed", "3", "--start", "2026-01-31T12:00:00Z",
    )  # fmt: skip
    (feb,) = faults.generate(
        out / "feb", "--runs", "1", "--agents", "50", "--posts", "10",
        "--comments-per-post", "2", "--seed", "4", "--start", "2026-02-01T06:00:00Z",
    )  # fmt: skip
    return jan, feb


# ---------------------------------------------------------------- concurrent commands


@pytest.mark.parametrize("delay", [0.3, 1.0, 2.0])
def test_concurrent_ingests_needing_new_months_do_not_deadlock(dsn, jan_feb, delay):
    """Issue 9 item 2: ``ingest-file jan & sleep N; ingest-file feb`` on a fresh database:
    the February load creates its month while the January load is in its data transaction."""
    jan, feb = jan_feb
    first = faults.spawn(dsn, "ingest-file", jan)
    time.sleep(delay)
    second = faults.spawn(dsn, "ingest-file", feb)
    results = [faults.finish(first), faults.finish(second)]
    assert [r[0] for r in results] == [0, 0], [r[2] for r in results]
    for _code, _out, err in results:
        assert "deadlock" not in err and "Traceback" not in err
    c = faults.counts(dsn)
    assert [s for _r, s in c["runs"]] == ["completed", "completed"]
    assert c["posts"] == 610
    faults.assert_invariants(dsn)
