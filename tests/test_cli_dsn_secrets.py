"""A password never appears, whatever the DSN looks like (issue 9 item 5).

Every DSN below holds the marker SECRET where its author meant the password to be (or in a
place a naive redaction would show); each goes through the CLI as --dsn, MOLTCTL_DSN and
DATABASE_URL, and the marker must appear in no output.
"""

from __future__ import annotations

import pytest

from moltctl.cli import app
from moltctl.connection import redact, resolve

MARK = "SECRET"
BAD = [  # do not parse, or parse into something the author did not mean
    "postgresql://u:Zq9x-SECRET%zz@host/db",
    "postgresql://u:Zq9x@SECRET@host/db",
    "postgresql://u:Zq9x@SECRET@127.0.0.1:1/db?connect_timeout=1",
    "postgresql://u:Zq9x/SECRET@host/db",
    "postgresql://u:Zq9x/SEC@RET@host/db".replace("SEC@RET", "SECRET"),
    "postgresql://u:Zq9x SECRET@host/db",
    "postgresql://u:SECRET@host/db?bogus=1",
    "postgresql://u:SECRET@[::1/db",
    "postgresql://u:SECRET\n@host/db",
    "  postgresql://u:SECRET@host/db",
    "Postgresql://u:SECRET@host/db",
    "postgresql://u:SECRET@host/db sslmode=require",
    "host=h user=u password=Zq9x SECRET dbname=d",
    "host=h user=u password='Zq9x SECRET dbname=d",
    "host=h password = 'SEC\\'RET' dbname='unterminated".replace("SEC\\'RET", "SECRET"),
    "password=SECRET bogus_option=1",
]
PARSED = [  # parse; the connection itself fails
    "postgresql://u:Zq9x?SECRET@host:notaport/db",
    "host=h password=SECRET\\",
    "password=SECRET host=h port=notaport",
    "password=SECRET%zz host=h sslmode=nonsense",
    "postgresql://u:SECRET@127.0.0.1:1/db?connect_timeout=1",
    "postgresql://u:SEC%40RET@127.0.0.1:1/db?connect_timeout=1".replace("SEC%40RET", "SECRET%40x"),
    "postgresql://u:Zq9x%2FSECRET@127.0.0.1:1/db?connect_timeout=1",
    "postgresql://127.0.0.1:1/db?user=u&password=SECRET&connect_timeout=1",
    "host=127.0.0.1 port=1 password=SECRET connect_timeout=1",
    "host=127.0.0.1 port=1 password='Zq9x SECRET' connect_timeout=1",
    "dbname=postgresql://u:SECRET@127.0.0.1:1/db?connect_timeout=1",
    "service=no_such_service_here password=SECRET",
]


def _env(monkeypatch):
    for var in ("MOLTCTL_DSN", "DATABASE_URL", "PGSERVICEFILE", "PGSERVICE"):
        monkeypatch.delenv(var, raising=False)


@pytest.mark.parametrize("how", ["--dsn", "MOLTCTL_DSN", "DATABASE_URL"])
@pytest.mark.parametrize("dsn", BAD + PARSED)
def test_secret_never_printed(runner, monkeypatch, dsn, how):
    _env(monkeypatch)
    if how == "--dsn":
        r = runner.invoke(app, ["--dsn", dsn, "status"])
    else:
        monkeypatch.setenv(how, dsn)
        r = runner.invoke(app, ["status"])
    out = r.stdout + r.stderr
    assert r.exit_code == 1, out
    assert MARK not in out, out
    assert "Traceback" not in out
    errors = [ln for ln in r.stderr.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1, r.stderr
    assert how in errors[0] or how == "--dsn" and "--dsn" in errors[0], errors[0]


@pytest.mark.parametrize("dsn", BAD)
def test_unparsable_shows_no_part_beyond_the_scheme(runner, monkeypatch, dsn):
    _env(monkeypatch)
    r = runner.invoke(app, ["--dsn", dsn, "status"])
    line = r.stderr.splitlines()[0]
    assert line.startswith("error: the connection string (--dsn) does not parse"), line
    for part in ("Zq9x", "host/db", "u:", "h user", "notaport"):
        assert part not in line, line


@pytest.mark.parametrize("dsn", BAD + PARSED)
def test_redact_hides_the_secret(dsn):
    assert MARK not in redact(dsn)
    assert MARK not in resolve(dsn).display


def test_redact_keeps_what_helps():
    assert redact("postgresql://molt:pw@db.example:5433/molt?sslmode=require") == (
        "postgresql://molt:***@db.example:5433/molt?sslmode=require"
    )
    shown = redact("host=db user=molt password='a b' dbname=molt").split()
    assert sorted(shown) == ["dbname=molt", "host=db", "password=***", "user=molt"]
