import pytest

from moltctl.connection import redact, resolve, scrub
from moltctl.errors import MoltError

SECRET = "s3cr3t-Pa55"


def test_explicit_dsn_wins():
    env = {"MOLTCTL_DSN": "dbname=a", "DATABASE_URL": "dbname=b", "POSTGRES_HOST": "h"}
    t = resolve("dbname=x", env)
    assert (t.conninfo, t.source) == ("dbname=x", "--dsn")


def test_moltctl_dsn_before_database_url():
    t = resolve(None, {"MOLTCTL_DSN": "dbname=a", "DATABASE_URL": "dbname=b"})
    assert (t.conninfo, t.source) == ("dbname=a", "MOLTCTL_DSN")
    t = resolve(None, {"DATABASE_URL": "dbname=b", "POSTGRES_HOST": "h"})
    assert t.source == "DATABASE_URL"


def test_postgres_vars_with_spec_defaults():
    t = resolve(None, {"POSTGRES_HOST": "db.example", "POSTGRES_PASSWORD": SECRET, "PGHOST": "x"})
    assert t.source == "POSTGRES_*"
    assert "host=db.example" in t.conninfo
    assert "dbname=molt_observatory" in t.conninfo
    assert "user=molt" in t.conninfo
    assert "port=5432" in t.conninfo
    assert SECRET not in t.display


def test_libpq_environment_then_embedded():
    assert resolve(None, {"PGSERVICE": "molt"}).source == "PG* environment"
    assert resolve(None, {"PGHOST": "/tmp"}).conninfo == ""
    assert resolve(None, {}).source == "embedded"


def test_pool_size():
    assert resolve(None, {"POSTGRES_POOL_SIZE": "9"}).pool_size == 9
    with pytest.raises(MoltError, match="POSTGRES_POOL_SIZE"):
        resolve(None, {"POSTGRES_POOL_SIZE": "many"})


@pytest.mark.parametrize(
    "dsn",
    [
        f"postgresql://molt:{SECRET}@db:5432/molt",
        f"postgres://molt:{SECRET}@db/molt?sslmode=require",
        f"host=db user=molt password={SECRET} dbname=molt",
        f"host=db password='{SECRET}' dbname=molt",
        f"postgresql://db/molt?user=molt&password={SECRET}",
    ],
)
def test_redact_every_form(dsn):
    out = redact(dsn)
    assert SECRET not in out
    assert "***" in out


def test_scrub_known_secret_anywhere():
    assert SECRET not in scrub(f"failed for {SECRET} here", [SECRET])


def test_connect_failure_hides_password():
    from moltctl.connection import connect

    t = resolve(f"postgresql://molt:{SECRET}@127.0.0.1:1/nope?connect_timeout=2")
    with pytest.raises(MoltError) as info:
        connect(t)
    assert SECRET not in str(info.value) and SECRET not in (info.value.hint or "")
    assert "cannot connect" in str(info.value)
