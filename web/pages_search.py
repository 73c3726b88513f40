"""The search page: ``/`` and ``/search`` (``.json``), Chinese full text with filters."""

from __future__ import annotations

from flask import Blueprint, Response, request, url_for

from archive.search_query import SearchFilters, search
from archive.views_sites import site_ids
from web.app import connect, respond
from web.params import date_arg, int_arg, str_arg, tristate_arg

bp = Blueprint("search", __name__)
PER_PAGE = 20


@bp.route("/")
@bp.route("/search")
@bp.route("/search.json", endpoint="search_page_json")
def search_page() -> Response:
    query = str_arg("q") or ""
    filters = SearchFilters(
        site_id=str_arg("site", 64),
        date_from=date_arg("from"),
        date_to=date_arg("to"),
        source=str_arg("source"),
        removed=tristate_arg("removed"),
        reprinted=tristate_arg("reprinted"),
    )
    page = int_arg("page", 1, high=500) or 1
    with connect() as conn:
        sites = site_ids(conn)
        result = (
            search(conn, query, filters, limit=PER_PAGE, offset=(page - 1) * PER_PAGE)
            if query
            else None
        )
    pages = -(-result.total // PER_PAGE) if result else 0
    args = {k: v for k, v in request.args.items() if k != "page"}
    prev_url = url_for("search.search_page", **args, page=page - 1) if page > 1 else None
    next_url = url_for("search.search_page", **args, page=page + 1) if page < pages else None
    return respond(
        "search.html",
        {
            "query": query,
            "filters": filters,
            "page": page,
            "pages": pages,
            "result": result,
            "sites": sites,
            "prev_url": prev_url,
            "next_url": next_url,
        },
    )
