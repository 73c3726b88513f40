"""A capture: its encoding evidence and headers, and the archived page itself in a sandboxed
iframe, served from its WARC record by ``/capture/<id>/raw`` under a CSP that loads nothing."""

from __future__ import annotations

from flask import Blueprint, Response, abort

from archive.errors import StorageError
from archive.views_article import capture, capture_text
from web.app import connect, error, respond, warc_dir

bp = Blueprint("capture", __name__)

# No script, no request for the archived page's own resources (images, CSS, frames, fonts):
# only its inline styles and data: images. ``sandbox`` also makes the page sandboxed when it
# is opened directly rather than in our iframe.
RAW_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; sandbox"


def _capture(capture_id: int):  # type: ignore[no-untyped-def]
    with connect() as conn:
        found = capture(conn, capture_id)
    if found is None:
        abort(404)
    return found


@bp.route("/capture/<int:capture_id>")
@bp.route("/capture/<int:capture_id>.json", endpoint="capture_page_json")
def capture_page(capture_id: int) -> Response:
    return respond("capture.html", {"capture": _capture(capture_id)})


@bp.route("/capture/<int:capture_id>/raw")
def raw_capture(capture_id: int) -> Response:
    found = _capture(capture_id)
    try:
        html = capture_text(warc_dir(), found)
    except StorageError as exc:
        return error(404, str(exc))
    response = Response(html, mimetype="text/html")  # re-encoded UTF-8, said in the header
    response.headers["Content-Security-Policy"] = RAW_CSP
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    response.headers["Cache-Control"] = "no-store"
    return response
