"""The suite's web site on 127.0.0.1: each path answers as a test says, every request is logged.

    with HostileServer({"/": listing("/a/1.html"), "/a/1.html": article(1)}) as site:
        site.url("/")          # http://127.0.0.1:PORT/
        site.log               # a Hit for every request: arrival time, path, headers, status

A route is a ``Reply`` (the same answer every time) or a function of the request's ``Hit``
that returns one (``hit.nth`` says which request for that path it is: 1, 2, ...). A route's
key is a path (matched with or without its query) or a prefix ending in ``*``, the longest
matching prefix winning; ``"*"`` alone takes every path. Paths without a route answer 404;
``/robots.txt`` allows everything unless a route says otherwise. Routes run outside the log's
lock, so requests are answered side by side. Helpers build the usual answers: an article, a
list page, a redirect, a gzip bomb, a meta refresh, a tarpit; ``seed_toml`` writes a seed.
"""

from __future__ import annotations

import gzip
import itertools
import json
import shutil
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


@dataclass
class Reply:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    stall: float = 0.0  # seconds to hang after the first bytes of the body (a tarpit)
    file: Path | None = None  # the body streamed from this file instead


@dataclass
class Hit:
    """One request, logged the moment it arrived."""

    at: float  # time.monotonic() when the request arrived, before it was answered
    path: str
    nth: int  # which request for this very path (query included) it is: 1, 2, ...
    headers: Message = field(repr=False)  # as received: .get() ignores case
    status: int = 0  # the status answered (0 while the route runs)


Route = Reply | Callable[[Hit], Reply]


def answer(route: Route, hit: Hit) -> Reply:
    return route if isinstance(route, Reply) else route(hit)


def first_then(first: Route, then: Route) -> Route:
    """The first request for the path gets ``first``, every later one ``then``."""
    return lambda hit: answer(first if hit.nth == 1 else then, hit)


# -- answers ------------------------------------------------------------------------------------


def html(text: str, status: int = 200, **headers: str) -> Reply:
    return Reply(status, {"Content-Type": "text/html; charset=utf-8", **headers}, text.encode())


def text(status: int, body: str = "", **headers: str) -> Reply:
    """Plain text; a header's ``_`` stands for ``-`` (``Retry_After="1"``)."""
    headers = {k.replace("_", "-"): v for k, v in headers.items()}
    return Reply(status, {"Content-Type": "text/plain", **headers}, body.encode())


def page(body: str, title: str = "工会新闻") -> Reply:
    """An HTML document in UTF-8 around ``body``."""
    head = f"<head><meta charset='utf-8'><title>{title}</title></head>"
    return html(f"<html>{head}<body>{body}</body></html>")


def list_page(links: Sequence[str]) -> Reply:
    items = "".join(f"<li><a href='{link}'>新闻 {link}</a></li>" for link in links)
    return page(f"<div class='nav'><a href='/'>首页</a></div><ul>{items}</ul>")


def city_article(key: str) -> Reply:
    """An article of {key}市总工会 the extractor takes: a headline, a date line, paragraphs."""
    title = f"{key}市总工会举办职工职业技能大赛"
    paragraphs = (
        f"5月1日，{key}市总工会在市职工文化中心举办职工职业技能大赛，来自全市机械、电力、"
        "建筑等行业的三百余名职工参加比赛，现场气氛热烈。",
        "本次大赛设置焊工、电工、数控车工、汽车维修工等十个比赛项目，分理论考试和实际操作两个"
        "环节进行，旨在弘扬劳模精神和工匠精神，提升广大职工的技能水平。",
        f"{key}市总工会负责人表示，将为各项目前三名颁发证书和奖金，并推荐参评市级技术能手，"
        "激励更多职工立足岗位、钻研技术，走技能成才之路。",
    )
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return page(
        f"<h1>{title}</h1><p class='info'>发布时间：2024-05-01 来源：{key}市总工会</p>"
        f"<div class='content'>{body}</div><div class='footer'>版权所有 {key}市总工会</div>",
        title=title,
    )


PARAGRAPHS = (
    "6月10日，某市总工会在市职工文化中心举办第{n}届职工职业技能大赛，来自全市机械、电力、"
    "建筑等行业的三百余名职工参加比赛，现场气氛热烈，各参赛队伍准备充分。",
    "本次大赛设置焊工、电工、数控车工、汽车维修工等十个比赛项目，分理论考试和实际操作两个"
    "环节进行，旨在弘扬劳模精神和工匠精神，提升广大职工的技能水平和创新能力。",
    "市总工会负责人表示，将为各项目前三名颁发证书和奖金，并推荐参评市级技术能手，激励更多"
    "职工立足岗位、钻研技术，走技能成才之路，为高质量发展贡献力量。",
)


def article_html(n: int) -> str:
    title = f"某市总工会举办第{n}届职工职业技能大赛"
    body = "".join(f"<p>{p.format(n=n)}</p>" for p in PARAGRAPHS)
    return (
        f"<html><head><title>{title}</title></head><body>"
        f"<div class='nav'><a href='/'>首页</a></div><h1>{title}</h1>"
        f"<p class='info'>发布时间：2024-06-{n % 28 + 1:02d} 来源：某市总工会</p>"
        f"<div class='content'>{body}</div>"
        "<div class='footer'>版权所有 某市总工会</div></body></html>"
    )


def article(n: int) -> Reply:
    return html(article_html(n))


def listing(*links: str) -> Reply:
    anchors = "".join(
        f"<li><a href='{link}'>第{i}条新闻标题在这里</a></li>" for i, link in enumerate(links)
    )
    return html(f"<html><body><ul>{anchors}</ul></body></html>")


def redirect(to: str, status: int = 302) -> Reply:
    return Reply(status, {"Location": to})


def redirect_forever() -> Route:
    """Each answer redirects to a new URL of the same path family: a trap with no end."""
    hops = itertools.count(1)
    return lambda hit: Reply(302, {"Location": f"{hit.path.split('?')[0]}?hop={next(hops)}"})


def meta_refresh(to: str) -> Reply:
    return html(
        f"<html><head><meta http-equiv='refresh' content='0;url={to}'></head><body></body></html>"
    )


def gzip_bomb(inflated_mib: int) -> Reply:
    """A small gzip body that inflates to ``inflated_mib`` MiB of spaces."""
    blob = gzip.compress(b" " * (inflated_mib * 1024 * 1024), compresslevel=9)
    return Reply(200, {"Content-Type": "text/html", "Content-Encoding": "gzip"}, blob)


def claims_size(size: int) -> Reply:
    """Announces a body of ``size`` bytes (sends a few): cancelled by DOWNLOAD_MAXSIZE."""
    return Reply(200, {"Content-Type": "text/html", "Content-Length": str(size)}, b"<html>")


def tarpit(body: bytes, seconds: float) -> Reply:
    """Sends a few bytes, then nothing for ``seconds`` (a response that never finishes)."""
    return Reply(200, {"Content-Type": "text/plain"}, body, stall=seconds)


# -- the server ---------------------------------------------------------------------------------


class HostileServer:
    def __init__(self, routes: Mapping[str, Route] | None = None):
        self.routes = dict(routes or {})
        self.log: list[Hit] = []
        self._lock = threading.Lock()
        self._seen: Counter[str] = Counter()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def url(self, path: str) -> str:
        return self.origin + path

    def paths(self) -> list[str]:
        return [hit.path for hit in self.log]

    def of(self, path: str) -> list[Hit]:
        """The requests for ``path``, in the order they arrived."""
        return [hit for hit in self.log if hit.path == path]

    def times(self, prefix: str = "") -> list[float]:
        """When the requests for paths starting with ``prefix`` arrived, in order."""
        return sorted(hit.at for hit in self.log if hit.path.startswith(prefix))

    def route(self, path: str) -> Route | None:
        for key in (path, path.split("?")[0]):
            if key in self.routes:
                return self.routes[key]
        prefixes = [k for k in self.routes if k.endswith("*") and path.startswith(k[:-1])]
        return self.routes[max(prefixes, key=len)] if prefixes else None

    def answer(self, hit: Hit) -> Reply:
        route = self.route(hit.path)
        if route is None and hit.path == "/robots.txt":
            return text(200, "User-agent: *\n")
        return html("not here", 404) if route is None else answer(route, hit)

    def __enter__(self) -> HostileServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def _arrived(self, at: float, handler: BaseHTTPRequestHandler) -> Hit:
        with self._lock:
            self._seen[handler.path] += 1
            hit = Hit(at, handler.path, self._seen[handler.path], handler.headers)
            self.log.append(hit)
        return hit

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                hit = server._arrived(time.monotonic(), self)
                reply = server.answer(hit)
                hit.status = reply.status
                self.send_response(reply.status)
                size = reply.file.stat().st_size if reply.file else len(reply.body)
                for name, value in {"Content-Length": str(size), **reply.headers}.items():
                    self.send_header(name, value)
                self.end_headers()
                try:
                    if reply.file:
                        with reply.file.open("rb") as source:
                            shutil.copyfileobj(source, self.wfile, 1 << 20)
                        return
                    if reply.stall:
                        self.wfile.write(reply.body[:8])
                        self.wfile.flush()
                        time.sleep(reply.stall)
                    self.wfile.write(reply.body[8:] if reply.stall else reply.body)
                except OSError:  # the crawler hung up (a cancelled download)
                    pass

            def log_message(self, *args: Any) -> None:
                pass

        return Handler


# -- seeds --------------------------------------------------------------------------------------

QUICK = {"download_delay": 0, "autothrottle": False, "max_errors": 50}


def toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | list | tuple):
        return json.dumps(value, ensure_ascii=False)  # a TOML basic string (or array of them)
    return str(value)


def seed_toml(
    site_id: str,
    origin: str,
    *,
    name: str = "",
    start: str | Sequence[str] = "/",
    lists: Sequence[str] = ("/list", "/$", "/hop"),
    articles: Sequence[str] = (r"/a/\d+\.html",),
    politeness: Mapping[str, object] = QUICK,
    revisit: Mapping[str, object] | None = None,
) -> str:
    """A seed file for a site at ``origin``; by default the fault suite's: lists under /list,
    articles /a/N.html, no delay, 50 errors allowed."""
    lines = [
        f"id = {toml_value(site_id)}",
        f"name = {toml_value(name or f'{site_id} (hostile test site)')}",
        f"base_url = {toml_value(origin + '/')}",
        f"start_urls = {toml_value([start] if isinstance(start, str) else list(start))}",
        f"list_patterns = {toml_value(list(lists))}",
        f"article_patterns = {toml_value(list(articles))}",
    ]
    for table, values in (("politeness", politeness), ("revisit", revisit or {})):
        if values:
            lines += ["", f"[{table}]", *(f"{k} = {toml_value(v)}" for k, v in values.items())]
    return "\n".join(lines) + "\n"


def write_seed(folder: Path, site_id: str, origin: str, **seed: Any) -> Path:
    """``folder/<site_id>.toml`` from ``seed_toml``; the folder (made if need be)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{site_id}.toml").write_text(seed_toml(site_id, origin, **seed), encoding="utf-8")
    return folder
