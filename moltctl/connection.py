"""Where to connect: resolve a target, connect to it, keep its password out of every message.

Resolution order (first match wins):
1. an explicit DSN (``--dsn``);
2. ``MOLTCTL_DSN``, then ``DATABASE_URL``;
3. the pipeline's ``POSTGRES_HOST/PORT/DB/USER/PASSWORD`` (any one of them set);
4. libpq's own ``PG*`` variables or a service file (``PGSERVICE``, ``PGSERVICEFILE``);
5. otherwise the embedded PostgreSQL that moltctl manages itself.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from moltctl import embedded
from moltctl.embedded import DEFAULT_DB
from moltctl.errors import MoltError, first_line

LIBPQ_VARS = (
    "PGHOST",
    "PGHOSTADDR",
    "PGPORT",
    "PGDATABASE",
    "PGUSER",
    "PGPASSWORD",
    "PGPASSFILE",
    "PGSERVICE",
    "PGSERVICEFILE",
)
POSTGRES_VARS = (
    "POSTGRES_HOST",
    "POSTGRES_PORT",
    "POSTGRES_DB",
    "POSTGRES_USER",
    "POSTGRES_PASSWORD",
)


@dataclass
class Target:
    """A resolved connection target. ``conninfo`` may hold a password: never print it."""

    conninfo: str
    source: str
    pool_size: int = 5
    announce: str | None = None
    secrets: list[str] = field(default_factory=list)

    @property
    def display(self) -> str:
        return redact(self.conninfo) or "(libpq defaults)"

    def scrub(self, text: str) -> str:
        return scrub(text, self.secrets)


_URL_PASSWORD = re.compile(r"(postgres(?:ql)?://[^:/@\s]*:)([^@\s]*)(@)")
_KV_PASSWORD = re.compile(r"(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)", re.IGNORECASE)


def redact(conninfo: str) -> str:
    """The conninfo with any password replaced by ``***`` (URL and key=value forms)."""
    out = _URL_PASSWORD.sub(
        lambda m: m.group(1) + ("***" if m.group(2) else "") + m.group(3), conninfo
    )
    out = _KV_PASSWORD.sub(r"\1***", out)
    out = re.sub(r"([?&]password=)[^&\s]*", r"\1***", out, flags=re.IGNORECASE)
    return out


def scrub(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return redact(text)


def _password_of(conninfo: str) -> list[str]:
    try:
        from psycopg.conninfo import conninfo_to_dict

        pw = conninfo_to_dict(conninfo).get("password")
    except Exception:  # noqa: BLE001 - a malformed DSN is reported at connect time
        pw = None
    return [str(pw)] if pw else []


def _pool_size(env: Mapping[str, str]) -> int:
    raw = env.get("POSTGRES_POOL_SIZE", "5")
    try:
        size = int(raw)
    except ValueError:
        raise MoltError(f"POSTGRES_POOL_SIZE must be an integer, got {raw!r}") from None
    if size < 1:
        raise MoltError(f"POSTGRES_POOL_SIZE must be at least 1, got {size}")
    return size


def resolve(dsn: str | None = None, env: Mapping[str, str] | None = None) -> Target:
    """Pick the connection target by the documented order; starts nothing."""
    env = os.environ if env is None else env
    pool = _pool_size(env)
    if dsn:
        return Target(dsn, "--dsn", pool, secrets=_password_of(dsn))
    for var in ("MOLTCTL_DSN", "DATABASE_URL"):
        if env.get(var):
            return Target(env[var], var, pool, secrets=_password_of(env[var]))
    if any(env.get(v) for v in POSTGRES_VARS):
        from psycopg.conninfo import make_conninfo

        parts = {
            "host": env.get("POSTGRES_HOST") or "localhost",
            "port": env.get("POSTGRES_PORT") or "5432",
            "dbname": env.get("POSTGRES_DB") or DEFAULT_DB,
            "user": env.get("POSTGRES_USER") or "molt",
        }
        password = env.get("POSTGRES_PASSWORD")
        if password:
            parts["password"] = password
        return Target(
            make_conninfo(**parts), "POSTGRES_*", pool, secrets=[password] if password else []
        )
    if any(env.get(v) for v in LIBPQ_VARS):
        return Target("", "PG* environment", pool, secrets=[env.get("PGPASSWORD") or ""])
    return Target("", "embedded", pool)


def ensure_started(target: Target) -> Target:
    """Start the embedded server if the target is the embedded one; other targets pass through.
    ``announce`` is set only when the server was not running before."""
    if target.source != "embedded" or target.conninfo:
        return target
    running = embedded.info()["running"]
    uri, where = embedded.ensure_running()
    target.conninfo = uri
    if not running:  # said once, when this run starts it: cron stays silent afterwards
        target.announce = (
            f"started embedded PostgreSQL in {where} (set MOLTCTL_DSN to use another server)"
        )
    return target


def connect(target: Target, *, autocommit: bool = False, application_name: str = "moltctl"):
    """Open a psycopg connection; failures become a MoltError with the password scrubbed."""
    import psycopg

    ensure_started(target)
    try:
        return psycopg.connect(
            target.conninfo,
            autocommit=autocommit,
            application_name=application_name,
            connect_timeout=int(os.environ.get("MOLTCTL_CONNECT_TIMEOUT", "10")),
        )
    except psycopg.Error as exc:
        first = target.scrub(first_line(exc))
        raise MoltError(
            f"cannot connect to {target.display} ({target.source}): {first}",
            hint="check --dsn / MOLTCTL_DSN, or unset them all to use the embedded server",
        ) from None
