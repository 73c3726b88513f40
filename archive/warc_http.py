"""The HTTP part of WARC records: as received when the crawler recorded the bytes, rebuilt
from the Fetch's fields when it did not (archive.warc writes both)."""

from __future__ import annotations

import http
import io
from urllib.parse import urlsplit

from warcio.statusandheaders import StatusAndHeaders, StatusAndHeadersParser

from archive.records import Fetch

ORIG_PREFIX = "X-Archive-Orig-"
_IDENTITY = ("", "identity")


class RawHeaders(StatusAndHeaders):
    """HTTP headers written as they were received: warcio rebuilds its header buffer from
    the parsed headers before every write (normalising spacing, folding and line ends), so a
    buffer set from the received bytes is kept instead."""

    def compute_headers_buffer(self, header_filter: object = None) -> None:
        if self.headers_buff is None:
            super().compute_headers_buffer(header_filter)


def stored_http_headers(
    headers: list[tuple[str, str]], payload_length: int
) -> list[tuple[str, str]]:
    """The response headers as written to the WARC, consistent with the decoded payload."""
    out: list[tuple[str, str]] = []
    for name, value in headers:
        value = " ".join(str(value).splitlines())  # a stray CR/LF would split the header block
        lname = name.strip().lower()
        if lname == "transfer-encoding" or (
            lname == "content-encoding" and value.strip().lower() not in _IDENTITY
        ):
            out.append((ORIG_PREFIX + name, value))
        elif lname == "content-length":
            if value.strip() != str(payload_length):
                out.append((ORIG_PREFIX + name, value))
        else:
            out.append((name, value))
    out.append(("Content-Length", str(payload_length)))
    return out


def split_head(raw: bytes) -> tuple[bytes, bytes]:
    """Status line and headers (with the blank line that ends them), then the body."""
    for end in (b"\r\n\r\n", b"\n\n"):
        cut = raw.find(end)
        if cut >= 0:
            return raw[: cut + len(end)], raw[cut + len(end) :]
    return raw, b""


def status_line(status: int) -> str:
    try:
        return f"{status} {http.HTTPStatus(status).phrase}"
    except ValueError:
        return f"{status} Unknown"


def request_target(url: str) -> str:
    parts = urlsplit(url)
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


def request_headers(fetch: Fetch) -> list[tuple[str, str]]:
    headers = [(n, " ".join(str(v).splitlines())) for n, v in fetch.request_headers]
    if not any(name.lower() == "host" for name, _ in headers):
        headers.insert(0, ("Host", urlsplit(fetch.url).netloc))
    return headers


def raw_headers(head: bytes) -> RawHeaders:
    """The status line and headers of ``head`` (bytes as received), written back unchanged."""
    parsed = StatusAndHeadersParser([], verify=False).parse(io.BytesIO(head))
    headers = RawHeaders(
        parsed.statusline, parsed.headers, protocol=parsed.protocol, total_len=len(head)
    )
    headers.headers_buff = head
    return headers
