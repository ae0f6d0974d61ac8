"""ingest-file DIR where DIR holds bundles: all loaded, oldest first (issue 11 item 8)."""

from __future__ import annotations

from tests.helpers.ingest import assert_invariants, rows


def _generate(cli, out, *args):
    r = cli("generate", str(out), "--runs", "3", "--agents", "20", "--posts", "8", *args)
    assert r.exit_code == 0, r.stderr
    return sorted(p.name for p in out.iterdir())


def test_directory_of_bundles_loads_them_all_oldest_first(tmp_path, cli, conn):
    names = _generate(cli, tmp_path / "b", "--format", "bundle", "--seed", "3")
    assert len(names) == 3 and all(n.endswith(".ndjson") for n in names)
    # names out of time order: the load order must come from the run times
    files = sorted((tmp_path / "b").iterdir())
    for i, p in enumerate(files):
        p.rename(p.with_name(f"{9 - i}-{p.name}"))
    r = cli("ingest-file", str(tmp_path / "b"))
    assert r.exit_code == 0, r.stderr
    loaded = [ln.split(":")[0] for ln in r.stderr.splitlines() if ": loaded in" in ln]
    assert loaded == sorted(loaded) and len(loaded) == 3
    assert rows(conn, "SELECT count(*) FROM snapshots WHERE status = 'completed'") == [(3,)]
    assert_invariants(conn)


def test_gzipped_bundles_and_run_directories_side_by_side(tmp_path, cli, conn):
    _generate(cli, tmp_path / "mix", "--format", "bundle", "--gzip", "--seed", "4")
    _generate(
        cli, tmp_path / "mix", "--seed", "4", "--start", "2026-03-01T00:00:00Z", "--runs", "2"
    )
    (tmp_path / "mix" / "notes.txt").write_text("not a bundle: ignored")
    r = cli("ingest-file", str(tmp_path / "mix"))
    assert r.exit_code == 0, r.stderr
    assert "5 snapshot(s) loaded" in r.stderr
    times = rows(conn, "SELECT created_at FROM snapshots ORDER BY started_at")
    assert times == sorted(times)
    assert_invariants(conn)


def test_a_bad_bundle_in_the_directory_loads_nothing_of_it(tmp_path, cli, conn):
    _generate(cli, tmp_path / "b", "--format", "bundle", "--seed", "5")
    (tmp_path / "b" / "zz-broken.ndjson").write_text('{"type": "snapshot"}\n')
    r = cli("ingest-file", str(tmp_path / "b"))
    assert r.exit_code == 1
    assert "zz-broken.ndjson: line 1" in r.stderr and "'run_id'" in r.stderr
    assert rows(conn, "SELECT count(*) FROM snapshots") == [(0,)]  # refused before loading
