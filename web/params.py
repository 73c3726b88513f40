"""Query-string parameters of the web pages, checked: a bad one is a 400 with its reason."""

from __future__ import annotations

import datetime as dt

from flask import abort, request


def date_arg(name: str) -> dt.date | None:
    raw = (request.args.get(name) or "").strip()
    if not raw:
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        abort(400, f"{name}: not a date (YYYY-MM-DD): {raw[:40]!r}")


def int_arg(
    name: str, default: int | None = None, *, low: int = 1, high: int = 10**9
) -> int | None:
    raw = (request.args.get(name) or "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        abort(400, f"{name}: not a number: {raw[:40]!r}")
    if not low <= value <= high:
        abort(400, f"{name}: {value} is not between {low} and {high}")
    return value


def tristate_arg(name: str) -> bool | None:
    """``yes`` -> True, ``no`` -> False, empty or absent -> None."""
    raw = (request.args.get(name) or "").strip().lower()
    if raw in ("", "any"):
        return None
    if raw in ("yes", "1", "true"):
        return True
    if raw in ("no", "0", "false"):
        return False
    abort(400, f"{name}: say yes or no, not {raw[:20]!r}")


def str_arg(name: str, limit: int = 200) -> str | None:
    raw = (request.args.get(name) or "").strip()
    return raw[:limit] or None
