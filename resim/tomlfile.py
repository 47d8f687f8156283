"""TOML files checked key by key: reading one, and an error at a key's line.

Shared by ``run.toml`` (:mod:`resim.drn.config`) and hardware profiles
(:mod:`resim.hardware.profile`); each passes its own error class (a
:class:`~resim.errors.NetlistError`: exit 3).
"""

from __future__ import annotations

import re

from .errors import NetlistError, SourceLocation


def parse_toml(text: str) -> dict:
    """The document of TOML ``text`` (a ``TOMLDecodeError``, a ``ValueError``, when it is not TOML)."""
    return _tomllib().loads(text)


def _tomllib():
    try:
        import tomllib
    except ImportError:  # pragma: no cover - Python 3.10
        import tomli as tomllib
    return tomllib


def read_toml(path: str, error: type[NetlistError], what: str = "config") -> tuple[dict, str]:
    """``(document, text)`` of the TOML file ``path`` (a ``what`` file); an ``error`` when it
    cannot be read or is not TOML, at the line and column TOML names."""
    tomllib = _tomllib()
    try:
        with open(path, "rb") as fh:
            raw = fh.read()
    except OSError as exc:
        raise error(f"cannot read {what} file '{path}': {exc.strerror}") from None
    text = raw.decode("utf-8", errors="replace")
    try:
        return tomllib.loads(text), text
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"line (\d+), column (\d+)", str(exc))
        loc = SourceLocation(path, int(m.group(1)), int(m.group(2))) if m else SourceLocation(path, 1)
        raise error(f"not valid TOML: {exc}", location=loc, source_line=_line(text, loc.line)) from None


def _line(text: str, n: int) -> str | None:
    lines = text.splitlines()
    return lines[n - 1] if 0 < n <= len(lines) else None


def error_at(path: str, text: str, section: str | None, key: str | None, message: str, hint: str | None,
             error: type[NetlistError]) -> NetlistError:
    """An ``error`` at the line of ``key`` in ``[section]``
    (``section`` None: the top level, before any header), or of the section's header."""
    current = None
    where = 1
    for n, line in enumerate(text.splitlines(), start=1):
        s = line.strip()
        m = re.match(r"^\[\s*([^\]]+?)\s*\]", s)
        if m:
            current = m.group(1)
            if key is None and current == section:
                where = n
                break
            continue
        if key is not None and current == section and re.match(rf"^{re.escape(key)}\s*=", s):
            where = n
            break
    line = _line(text, where) or ""
    col = (line.find(key) + 1) if key and key in line else 1
    return error(message, location=SourceLocation(path, where, max(col, 1)), source_line=line or None, hint=hint)
