"""The replica's "template change" night: three sites break at once, two stay as they were.

On top of any day of the timeline (``ReplicaServer.set_day(day, incident=True)``):

* ``xnzgh`` moves to a new article template: date and 来源 become data attributes a script
  prints (``render_xnzgh.TEMPLATE_2026``), which the current extraction cannot read; the pages
  change, so do their validators (the server's ETag, the sitemap's ``<lastmod>``);
* ``xazgh`` is down: every URL, robots.txt and the sitemap included, answers 502 Bad Gateway;
* ``qhzgh`` answers every article URL with its "page not found" page, status 200 (a soft 404),
  while its lists still link them;
* ``bcrb`` and ``tibet3`` are served as on that day.

Back to the plain day (``set_day(day)``) every site recovers. ``EXPECTED_FINDINGS`` is what a
monitor must say about that night: which rule fires on which site, nothing on the others.
"""

from __future__ import annotations

import dataclasses
import hashlib

from crawler.replica.data import SiteData, load_site
from crawler.replica.pages import Page, PageSet, SiteRendering, build_site, render_site, renderer
from crawler.replica.render_xnzgh import TEMPLATE_2026

ROLES = {"xnzgh": "new_template", "xazgh": "down", "qhzgh": "soft_404"}
EXPECTED_FINDINGS = {
    ("xnzgh", "coverage_date"),
    ("xnzgh", "coverage_source"),
    ("xazgh", "failing"),
    ("qhzgh", "soft_404"),
}
_BAD_GATEWAY = b"""<html>
<head><title>502 Bad Gateway</title></head>
<body>
<center><h1>502 Bad Gateway</h1></center>
<hr><center>nginx</center>
</body>
</html>
"""


def build_incident_site(site_id: str, day: int) -> SiteRendering:
    """One site's pages on the template-change night (on top of ``day``)."""
    role = ROLES.get(site_id)
    if role == "down":
        gateway = Page(502, "text/html", _BAD_GATEWAY)
        return SiteRendering(site_id, {}, gateway, "nginx", prefix_routes=(("/", gateway),))
    if role == "new_template":
        site = _site(site_id, day)
        rendering = render_site(
            dataclasses.replace(site, meta={**site.meta, "template": TEMPLATE_2026})
        )
        pages = {
            path: dataclasses.replace(page, etag=_retagged(page.etag)) if page.etag else page
            for path, page in rendering.pages.items()
        }
        return dataclasses.replace(rendering, pages=pages)
    rendering = build_site(site_id, day)
    if role == "soft_404":
        mod = renderer(site_id)
        soft = PageSet(mod.ENCODING).page(mod.soft_404(_site(site_id, day)))
        pages = {
            path: soft if page.etag is not None and page.status == 200 else page
            for path, page in rendering.pages.items()
        }
        return dataclasses.replace(rendering, pages=pages)
    return rendering


def _site(site_id: str, day: int) -> SiteData:
    if day == 0:
        return load_site(site_id)
    from crawler.replica.timeline import site_data_for_day

    return site_data_for_day(site_id, day)


def _retagged(etag: str) -> str:
    """The validator of a page in the new template: not the old one."""
    return '"' + hashlib.sha1(f"{TEMPLATE_2026}{etag}".encode()).hexdigest()[:20] + '"'
