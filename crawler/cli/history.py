"""`gonghui history URL`, `gonghui diff URL [V1 V2]`, `gonghui reprints`: the archive's memory."""

from __future__ import annotations

import click
from rich.table import Table
from rich.text import Text

from archive.errors import GonghuiError
from crawler.cli.readonly import open_engine, require_site


class NotInArchive(GonghuiError):
    """A URL or version the archive does not hold."""

    exit_code = 5


def _history(ctx: click.Context, url: str):  # type: ignore[no-untyped-def]
    from archive.queries import page_history

    try:
        history = page_history(open_engine(ctx), url)
    except ValueError as exc:
        raise NotInArchive(f"not a page URL: {url!r} ({exc})") from None
    if history is None or not history.versions:
        raise NotInArchive(f"no archived article at {url}")
    return history


@click.command(name="history")
@click.argument("url")
@click.pass_context
def history_command(ctx: click.Context, url: str) -> None:
    """Every version of the article at URL: when it was seen, what changed, where the capture is.

    \b
    Example:
      gonghui history http://www.xnzgh.org.cn/info/1021/3456.htm
    """
    from crawler.cli.render import console

    history = _history(ctx, url)
    state = (
        f"removed {history.removed_at:%Y-%m-%d %H:%M} UTC ({history.removal})"
        if history.removed_at
        else "live"
    )
    cluster = f", reprint cluster {history.cluster_id}" if history.cluster_id else ""
    table = Table(title=f"{history.url}: {state}{cluster}", title_justify="left")
    for column in (
        "v",
        "change",
        "first seen (UTC)",
        "last seen (UTC)",
        "title",
        "chars",
        "capture",
    ):
        table.add_column(column, overflow="fold")
    for v in history.versions:
        change = v.change_class.replace("_", " ")
        if v.removal:
            change += f" ({v.removal})"
        table.add_row(
            str(v.version_no),
            change,
            f"{v.first_seen_at:%Y-%m-%d %H:%M}",
            f"{v.last_seen_at:%Y-%m-%d %H:%M}",
            v.title,
            str(len(v.body)),
            f"{v.capture_id} ({v.http_status}) {v.warc_filename}@{v.warc_offset}",
        )
    console().print(table)


@click.command(name="diff")
@click.argument("url")
@click.argument("old", type=int, required=False)
@click.argument("new", type=int, required=False)
@click.option(
    "--full", is_flag=True, help="Show every unchanged sentence, not just 2 around each change."
)
@click.pass_context
def diff_command(
    ctx: click.Context, url: str, old: int | None, new: int | None, full: bool
) -> None:
    """What changed between two versions of an article, sentence by sentence.

    Without version numbers: the current version against the one before it. With one: that
    version against the current one.

    \b
    Example:
      gonghui diff http://www.xnzgh.org.cn/info/1021/3456.htm
      gonghui diff http://www.xnzgh.org.cn/info/1021/3456.htm 1 3
    """
    from archive.textdiff import diff_sentences, render_diff
    from crawler.cli.render import console

    history = _history(ctx, url)
    by_no = {v.version_no: v for v in history.versions}
    last = history.versions[-1].version_no
    if old is None:
        old, new = max(1, last - 1), last
    elif new is None:
        new = last
    for no in (old, new):
        if no not in by_no:
            raise NotInArchive(f"{url} has no version {no}: it has versions 1 to {last}")
    a, b = by_no[old], by_no[new]
    out = console()
    out.print(Text(f"--- v{old} {a.change_class} {a.first_seen_at:%Y-%m-%d %H:%M} UTC  {a.title}"))
    out.print(Text(f"+++ v{new} {b.change_class} {b.first_seen_at:%Y-%m-%d %H:%M} UTC  {b.title}"))
    if (a.source or "") != (b.source or ""):
        out.print(Text(f"来源: {a.source or '-'} -> {b.source or '-'}", style="yellow"))
    styles = {"delete": "red", "insert": "green", "replace": "yellow", "skip": "dim"}
    lines = render_diff(diff_sentences(a.body, b.body), context=None if full else 2)
    if all(tag in ("equal", "skip") for tag, _ in lines):
        out.print("(the body is the same)")
        lines = []
    for tag, line in lines:
        out.print(Text(line, style=styles.get(tag, "")), soft_wrap=True)


@click.command(name="reprints")
@click.option("--site", "site_id", help="Only clusters with a page of this site.")
@click.option(
    "--reindex",
    is_flag=True,
    help="First index every archived page not yet indexed (archives made before 0004).",
)
@click.pass_context
def reprints_command(ctx: click.Context, site_id: str | None, reindex: bool) -> None:
    """Clusters of pages that carry the same article on different sites, original first.

    \b
    Example:
      gonghui reprints --site qhzgh
      gonghui reprints --reindex      # after upgrading an older archive
    """
    from archive.queries import reprint_clusters
    from crawler.cli.render import console

    engine = open_engine(ctx, write=reindex)  # only --reindex writes (and so migrates)
    require_site(engine, site_id)
    if reindex:
        from archive.reprints import reindex as reindex_pages

        indexed = reindex_pages(engine)
        console(stderr=True).print(f"indexed {indexed} page(s) not indexed before")
    clusters = reprint_clusters(engine, site_id=site_id)
    table = Table(title=f"Reprint clusters: {len(clusters)}", title_justify="left")
    for column in ("cluster", "pages", "", "site", "published", "title", "来源", "url"):
        table.add_column(column, overflow="fold")
    for cluster in clusters:
        for i, m in enumerate(cluster.members):
            role = "original" if m.page_id == cluster.original_page_id else "reprint"
            if m.removed:
                role += " (removed)"
            table.add_row(
                str(cluster.id) if i == 0 else "",
                str(cluster.size) if i == 0 else "",
                role,
                m.site_id,
                str(m.published or "-"),
                m.title,
                m.source or "-",
                m.url,
                end_section=i == len(cluster.members) - 1,
            )
    console().print(table)
