"""The Flask application: a read-only web view of the archive (``gonghui serve``).

``create_app(database_url, warc_dir)`` makes the app; each page lives in a blueprint of its
own module (search, article, capture, sites, changes). Every page is also JSON, asked for with
a ``.json`` suffix or ``Accept: application/json`` (``respond``).

Safety: the database is opened read-only with a statement timeout (``archive.views_db``); the
archived HTML is only ever served by the capture blueprint, into a sandboxed iframe, under a
Content-Security-Policy that lets nothing load; our own pages run no script at all and say so
in their CSP; Jinja2 autoescapes every value.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path
from typing import Any

from flask import Flask, Response, current_app, render_template, request
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError

from archive.db import short_reason
from archive.errors import GonghuiError
from archive.views_db import readonly_engine

PAGE_CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; frame-src 'self'; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'self'"
)


def create_app(database_url: str, warc_dir: Path, *, timeout_s: float = 5.0) -> Flask:
    app = Flask(__name__)
    app.config["GONGHUI_ENGINE"] = readonly_engine(database_url, timeout_s)
    app.config["GONGHUI_WARC_DIR"] = Path(warc_dir)
    app.json.ensure_ascii = False  # type: ignore[attr-defined]

    from web import pages_article, pages_capture, pages_changes, pages_search, pages_sites

    for module in (pages_search, pages_article, pages_capture, pages_sites, pages_changes):
        app.register_blueprint(module.bp)

    app.jinja_env.filters["pct"] = lambda share: f"{share * 100:.0f}%"
    app.jinja_env.filters["when"] = _when
    app.jinja_env.filters["label"] = lambda name: str(name).replace("_", " ")
    app.after_request(_headers)
    app.register_error_handler(404, lambda e: error(404, "not found"))
    app.register_error_handler(400, lambda e: error(400, getattr(e, "description", "bad request")))
    app.register_error_handler(GonghuiError, lambda e: error(503, str(e)))
    app.register_error_handler(
        DBAPIError, lambda e: error(503, f"database error: {short_reason(e)}")
    )
    return app


def engine() -> Engine:
    return current_app.config["GONGHUI_ENGINE"]


def connect() -> Connection:
    """A read-only connection for one request (use as a context manager)."""
    return engine().connect()


def warc_dir() -> Path:
    return current_app.config["GONGHUI_WARC_DIR"]


def wants_json() -> bool:
    if request.path.endswith(".json"):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"


def respond(template: str, data: dict[str, Any], status: int = 200) -> Response:
    """The page as HTML (``template`` rendered with ``data``) or as JSON (``data``)."""
    if wants_json():
        body = json.dumps(data, default=_plain, ensure_ascii=False, indent=1)
        return Response(body, status, mimetype="application/json")
    return Response(render_template(template, **data), status, mimetype="text/html")


def error(status: int, message: str) -> Response:
    return respond("error.html", {"error": message, "status": status}, status)


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    raise TypeError(f"not JSON: {type(value).__name__}")


def _when(value: dt.datetime | dt.date | None) -> str:
    if value is None:
        return "-"
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return value.isoformat()


def _headers(response: Response) -> Response:
    response.headers.setdefault("Content-Security-Policy", PAGE_CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    return response
