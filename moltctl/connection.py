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


_SCHEMES = ("postgresql://", "postgres://")
# a password that libpq reads differently from its author: stop before connecting anywhere
_UNENCODED = re.compile(r"[@/\s]")
# libpq's quoted words that name no part of the DSN itself ("missing "=" after ...")
_SAFE_QUOTED = {"=", "host", "hostaddr", "port", "dbname", "user", "sslmode", "connect_timeout"}


def _split_uri(uri: str) -> tuple[str, str | None, str]:
    """(scheme, user:password part or None, the rest). The user:password part runs to the
    *last* ``@``: a password holding an unencoded ``@`` or ``/`` stays whole, so it is hidden
    whole (libpq itself stops at the first)."""
    scheme, rest = uri.split("://", 1)
    at = rest.rfind("@")
    if at < 0:
        return scheme, None, rest
    return scheme, rest[:at], rest[at + 1 :]


def _pointer(message: str) -> str:
    """libpq's parse error with every quoted fragment of the DSN replaced by ``"…"``."""

    def keep(m: re.Match) -> str:
        return m.group(0) if m.group(1) in _SAFE_QUOTED else '"…"'

    out = re.sub(r'"([^"]*)"', keep, first_line_of(message))
    return out.split('"', 1)[0].rstrip() if out.count('"') % 2 else out


def first_line_of(text: str) -> str:
    text = text.strip()
    return text.splitlines()[0] if text else ""


def problem(conninfo: str) -> str | None:
    """What makes a DSN unusable, in words holding no part of it; None if it parses."""
    if not conninfo:
        return None
    if conninfo.startswith(_SCHEMES):
        _scheme, userinfo, _rest = _split_uri(conninfo)
        if userinfo is not None and _UNENCODED.search(userinfo):
            return (
                "the user:password part holds an '@', '/' or space that is not percent-encoded "
                "(write them as %40, %2F, %20)"
            )
    from psycopg.conninfo import conninfo_to_dict

    try:
        conninfo_to_dict(conninfo)
    except Exception as exc:  # noqa: BLE001 - any parse failure is reported the same way
        return _pointer(str(exc)) or "not a connection string"
    return None


def _redact_uri(uri: str) -> str:
    scheme, userinfo, rest = _split_uri(uri)
    if problem(uri) is not None:
        return f"{scheme}://…"
    shown = ""
    if userinfo is not None:
        user = re.split(r"[:@]", userinfo, maxsplit=1)[0]
        shown = user + (":***" if len(user) < len(userinfo) else "") + "@"
    rest = re.sub(r"([?&]password=)[^&]*", r"\1***", rest, flags=re.IGNORECASE)
    return f"{scheme}://{shown}{rest}"


def redact(conninfo: str) -> str:
    """The DSN for display, parsed, with its password as ``***``. A DSN that does not parse
    shows nothing beyond its scheme: its text cannot be told apart from its password."""
    if not conninfo:
        return ""
    if conninfo.startswith(_SCHEMES):
        return _redact_uri(conninfo)
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    try:
        params = conninfo_to_dict(conninfo)
    except Exception:  # noqa: BLE001 - shown as unparsable
        return "(a connection string that does not parse)"
    shown = []
    for key, value in params.items():
        if key == "password":
            shown.append("password=***")
        else:
            # a dbname may itself be a URI (libpq expands it)
            one = make_conninfo(**{key: str(value)})
            shown.append(_redact_text(one))
    return " ".join(shown)


# passwords inside free text (database errors, messages): URIs and key=value pairs
_TEXT_URI = re.compile(r"(postgres(?:ql)?://)(\S*)@")
_TEXT_KV = re.compile(r"(password\s*=\s*)('(?:[^'\\]|\\.)*'?|\S+)", re.IGNORECASE)


def _redact_text(text: str) -> str:
    def uri(m: re.Match) -> str:
        user = re.split(r"[:@]", m.group(2), maxsplit=1)[0]
        return m.group(1) + user + (":***" if len(user) < len(m.group(2)) else "") + "@"

    text = _TEXT_URI.sub(uri, text)
    text = _TEXT_KV.sub(r"\1***", text)
    return re.sub(r"([?&]password=)[^&\s]*", r"\1***", text, flags=re.IGNORECASE)


def scrub(text: str, secrets: list[str]) -> str:
    """``text`` with every known secret, and anything shaped like a password, as ``***``."""
    for secret in sorted(secrets, key=len, reverse=True):
        if secret:
            text = text.replace(secret, "***")
    return _redact_text(text)


def _password_of(conninfo: str) -> list[str]:
    """The password as libpq reads it, and as its author may have meant it (URI form)."""
    from urllib.parse import unquote

    found: list[str] = []
    if conninfo.startswith(_SCHEMES):
        _scheme, userinfo, _rest = _split_uri(conninfo)
        if userinfo and ":" in userinfo:
            raw = userinfo.split(":", 1)[1]
            found += [raw, unquote(raw)]
    try:
        from psycopg.conninfo import conninfo_to_dict

        pw = conninfo_to_dict(conninfo).get("password")
    except Exception:  # noqa: BLE001 - a malformed DSN is refused at connect time
        pw = None
    if pw:
        found.append(str(pw))
    return [s for s in found if s]


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
    bad = problem(target.conninfo)
    if bad is not None:
        raise MoltError(
            f"the connection string ({target.source}) does not parse: {bad}",
            hint="percent-encode special characters of a URI's password, or quote the "
            "password in key=value form: password='a b'",
        )
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
