"""Where moltctl's SQL templates live, installed or in a checkout."""

from __future__ import annotations

from pathlib import Path


def templates_dir() -> Path:
    here = Path(__file__).resolve().parent
    # a wheel ships them inside the package; a checkout (or editable install) has them beside it
    for candidate in (here / "sql_templates", here.parent / "sql_templates"):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError("sql_templates directory not found next to the moltctl package")
