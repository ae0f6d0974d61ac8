"""Text from the outside world made safe for a terminal and for spreadsheets.

Scraped handles and titles may hold terminal control sequences (``\\x1b]0;pwned\\x07`` retitles
the window, ``\\x1b[2J`` clears the screen) and spreadsheet formulas (``=HYPERLINK(...)``).
Tables and messages show control characters as visible escapes; CSV cells that a spreadsheet
would read as a formula get a leading ``'``. JSON output needs neither (its encoder escapes
control characters, and JSON is not opened as a spreadsheet).
"""

from __future__ import annotations

import re

# C0 controls, DEL, C1 controls (\x9b is a one-byte CSI), and the bidirectional overrides and
# isolates that reorder what is shown ("Trojan Source")
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_CONTROL_BUT_NEWLINE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
# what spreadsheets (Excel, LibreOffice, Google Sheets) read as the start of a formula
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


_NAMED = {"\n": "\\n", "\t": "\\t", "\r": "\\r"}


def _escape(m: re.Match) -> str:
    char = m.group(0)
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(text: str, *, keep_newlines: bool = False) -> str:
    """``text`` with every control character shown as an escape (``\\x1b``, ``\\u202e``).

    Example: ``visible("evil\\x1b[2J")`` -> ``'evil\\\\x1b[2J'``
    """
    pattern = _CONTROL_BUT_NEWLINE if keep_newlines else _CONTROL
    return pattern.sub(_escape, text)


def csv_cell(value):
    """A CSV value that no spreadsheet runs: a string starting like a formula gets a ``'``.

    Example: ``csv_cell("=HYPERLINK(\\"http://x\\")")`` -> ``'\\'=HYPERLINK("http://x")'``
    """
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value
