"""The sites page: per site its name and host, articles, last runs (status, pages, new
versions, removals, drops by reason, errors) and each run's field coverage."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, Response, abort

from archive.queries import latest_runs, site_overview
from archive.views_sites import run_coverage
from web.app import connect, engine, respond
from web.params import int_arg

bp = Blueprint("sites", __name__)


def _sites(only: str | None, runs: int) -> list[dict]:
    out = []
    for site in site_overview(engine()):
        if only is not None and site.site_id != only:
            continue
        site_runs = latest_runs(engine(), limit=runs, site_id=site.site_id)
        with connect() as conn:
            coverage = run_coverage(conn, [r.id for r in site_runs])
        out.append(
            {
                "site": site,
                "host": urlsplit(site.base_url).netloc,
                "runs": [{"run": r, "coverage": coverage.get(r.id)} for r in site_runs],
            }
        )
    return out


@bp.route("/sites")
@bp.route("/sites.json", endpoint="sites_page_json")
def sites_page() -> Response:
    runs = int_arg("runs", 5, high=100) or 5
    return respond("sites.html", {"sites": _sites(None, runs)})


@bp.route("/sites/<site_id>")
@bp.route("/sites/<site_id>.json", endpoint="site_page_json")
def site_page(site_id: str) -> Response:
    site_id = site_id.removesuffix(".json")
    runs = int_arg("runs", 20, high=200) or 20
    found = _sites(site_id, runs)
    if not found:
        abort(404)
    return respond("sites.html", {"sites": found})
