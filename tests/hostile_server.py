"""A hostile web site on 127.0.0.1 for the fault suite: each path answers as a test says.

    with HostileServer({"/": page(links=["/a/1.html"]), "/a/1.html": article(1)}) as site:
        site.url("/")          # http://127.0.0.1:PORT/
        site.log               # [(method, path, headers), ...] of every request

A route is a function of the request path (and the server) that returns a ``Reply``:
status, headers and body. Helpers build the usual ones: an article page, a list page, a
redirect, a gzip bomb, a meta refresh. Paths without a route answer 404; ``/robots.txt``
allows everything unless a route says otherwise.
"""

from __future__ import annotations

import gzip
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    stall: float = 0.0  # seconds to hang after the first bytes of the body (a tarpit)


Route = Callable[[str, "HostileServer"], Reply]

PARAGRAPHS = (
    "6月10日，某市总工会在市职工文化中心举办第{n}届职工职业技能大赛，来自全市机械、电力、"
    "建筑等行业的三百余名职工参加比赛，现场气氛热烈，各参赛队伍准备充分。",
    "本次大赛设置焊工、电工、数控车工、汽车维修工等十个比赛项目，分理论考试和实际操作两个"
    "环节进行，旨在弘扬劳模精神和工匠精神，提升广大职工的技能水平和创新能力。",
    "市总工会负责人表示，将为各项目前三名颁发证书和奖金，并推荐参评市级技术能手，激励更多"
    "职工立足岗位、钻研技术，走技能成才之路，为高质量发展贡献力量。",
)


def html(text: str, status: int = 200, **headers: str) -> Reply:
    return Reply(status, {"Content-Type": "text/html; charset=utf-8", **headers}, text.encode())


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


def article(n: int) -> Route:
    return lambda path, server: html(article_html(n))


def listing(*links: str) -> Route:
    anchors = "".join(
        f"<li><a href='{link}'>第{i}条新闻标题在这里</a></li>" for i, link in enumerate(links)
    )
    return lambda path, server: html(f"<html><body><ul>{anchors}</ul></body></html>")


def redirect(to: str, status: int = 302) -> Route:
    return lambda path, server: Reply(status, {"Location": to})


def redirect_forever() -> Route:
    """Each answer redirects to a new URL of the same path family: a trap with no end."""

    def route(path: str, server: HostileServer) -> Reply:
        server.counter += 1
        return Reply(302, {"Location": f"{path.split('?')[0]}?hop={server.counter}"})

    return route


def meta_refresh(to: str) -> Route:
    return lambda path, server: html(
        f"<html><head><meta http-equiv='refresh' content='0;url={to}'></head><body></body></html>"
    )


def gzip_bomb(inflated_mib: int) -> Route:
    """A small gzip body that inflates to ``inflated_mib`` MiB of spaces."""
    blob = gzip.compress(b" " * (inflated_mib * 1024 * 1024), compresslevel=9)
    return lambda path, server: Reply(
        200, {"Content-Type": "text/html", "Content-Encoding": "gzip"}, blob
    )


def claims_size(size: int) -> Route:
    """Announces a body of ``size`` bytes (sends a few): cancelled by DOWNLOAD_MAXSIZE."""
    return lambda path, server: Reply(
        200, {"Content-Type": "text/html", "Content-Length": str(size)}, b"<html>"
    )


class HostileServer:
    def __init__(self, routes: dict[str, Route]):
        self.routes = dict(routes)
        self.log: list[tuple[str, str, dict[str, str]]] = []
        self.counter = 0
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def url(self, path: str) -> str:
        return self.origin + path

    def paths(self) -> list[str]:
        return [path for _, path, _ in self.log]

    def __enter__(self) -> HostileServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.log.append(("GET", self.path, dict(self.headers)))
                route = server.routes.get(self.path) or server.routes.get(self.path.split("?")[0])
                if route is None and self.path == "/robots.txt":
                    reply = Reply(200, {"Content-Type": "text/plain"}, b"User-agent: *\n")
                else:
                    reply = route(self.path, server) if route else html("not here", 404)
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                if "Content-Length" not in reply.headers:
                    self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                try:
                    if reply.stall:
                        self.wfile.write(reply.body[:8])
                        self.wfile.flush()
                        time.sleep(reply.stall)
                    self.wfile.write(reply.body)
                except OSError:  # the crawler hung up (a cancelled download)
                    pass

            def log_message(self, *args: Any) -> None:
                pass

        return Handler


def tarpit(body: bytes, seconds: float) -> Route:
    """Sends a few bytes, then nothing for ``seconds`` (a response that never finishes)."""
    return lambda path, server: Reply(200, {"Content-Type": "text/plain"}, body, stall=seconds)


def seed_toml(site_id: str, origin: str, *, start: str = "/", extra: str = "") -> str:
    """A seed for a hostile site: lists under /list, articles /a/N.html, no delay."""
    return f"""id = "{site_id}"
name = "{site_id} (hostile test site)"
base_url = "{origin}/"
start_urls = ["{start}"]
list_patterns = ['/list', '/$', '/hop']
article_patterns = ['/a/\\d+\\.html']

[politeness]
download_delay = 0
autothrottle = false
max_errors = 50
{extra}
"""
