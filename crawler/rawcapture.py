"""The HTTP exchange as it went over the wire, for the WARC (``DOWNLOAD_HANDLERS``).

Scrapy's HTTP/1.1 download handler (Twisted) hands the spider a parsed response: the body
de-chunked, header names normalised, the status line rebuilt; ``HttpCompressionMiddleware``
then undoes gzip and brotli. Good for parsing, not for a web archive, whose response record
holds the response *as received* (WARC 1.1, 6.3.2) and whose request record holds what was sent.

``RawCaptureDownloadHandler`` is Scrapy's handler with one difference: its connections record
the bytes they write (the request) and the bytes they receive while that request is answered
(status line, headers in their order and case, body with its chunk framing and content coding
untouched). Twisted sends one request at a time on a connection (no pipelining), so every byte
received between two requests belongs to the first one's response. The pair is put in the
request's ``meta`` under ``RAW_META_KEY`` as a ``RawExchange``; the spider copies it onto the
``Fetch`` it yields, and ``archive.warc`` writes it unchanged. Decoding stays where it was: the
spider still reads the decoded ``response.body``.

Why not a downloader middleware: by the time a middleware sees a response, Twisted has already
parsed it and the bytes are gone (Heritrix and Browsertrix record at the socket for the same
reason). The hook is the connection protocol, which Scrapy lets a handler choose through its
connection pool's factory.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from scrapy.core.downloader.handlers.http11 import (
    HTTP11DownloadHandler,
    _LenientHTTP11ClientFactory,
    _LenientHTTP11ClientProtocol,
    _ScrapyAgent,
)
from scrapy.exceptions import ResponseDataLossError
from scrapy.utils._download_handlers import get_dataloss_msg, wrap_twisted_exceptions
from scrapy.utils.defer import maybe_deferred_to_future

RAW_META_KEY = "gonghui_raw"
logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RawExchange:
    """One request and its response, byte for byte as they crossed the connection."""

    request: bytes
    response: bytes


class _Recorder:
    """Stands in for the transport while a request is written: records what is written."""

    def __init__(self, transport: Any, sink: bytearray) -> None:
        self._transport = transport
        self._sink = sink

    def write(self, data: bytes) -> None:
        self._sink += data
        self._transport.write(data)

    def writeSequence(self, seq: list[bytes]) -> None:
        for data in seq:
            self._sink += data
        self._transport.writeSequence(seq)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class _RawProtocol(_LenientHTTP11ClientProtocol):
    """Scrapy's HTTP/1.1 client protocol, keeping each exchange's bytes."""

    _raw_in: bytearray | None = None

    def request(self, request: Any) -> Any:
        sent, received = bytearray(), bytearray()
        self._raw_in = received
        real = self.transport
        self.transport = _Recorder(real, sent)
        try:
            d = super().request(request)
        finally:
            self.transport = real

        def attach(response: Any) -> Any:
            # The body is still arriving: ``received`` keeps filling until it is complete.
            response._gonghui_raw = (sent, received)
            return response

        d.addCallback(attach)
        return d

    def dataReceived(self, data: bytes) -> None:
        if self._raw_in is not None:
            self._raw_in += data
        super().dataReceived(data)


class _RawFactory(_LenientHTTP11ClientFactory):
    def buildProtocol(self, addr: Any) -> _RawProtocol:
        return _RawProtocol(self._quiescentCallback)


class _RawAgent(_ScrapyAgent):
    """Puts the exchange's bytes in the request's meta once the response is complete."""

    _raw: RawExchange | None = None

    def download_request(self, request: Any) -> Any:
        def keep(response: Any) -> Any:
            if self._raw is not None:
                request.meta[RAW_META_KEY] = self._raw
            else:
                request.meta.pop(RAW_META_KEY, None)  # a redirect's copy of its source's
            return response

        return super().download_request(request).addCallback(keep)

    def _cb_bodydone(self, result: Any, url: str) -> Any:
        raw = getattr(result["txresponse"], "_gonghui_raw", None)
        if raw is not None:
            self._raw = RawExchange(bytes(raw[0]), bytes(raw[1]))
        return super()._cb_bodydone(result, url)


class RawCaptureDownloadHandler(HTTP11DownloadHandler):
    """``HTTP11DownloadHandler`` whose responses carry their raw bytes (``RAW_META_KEY``)."""

    def __init__(self, crawler: Any) -> None:
        super().__init__(crawler)
        self._pool._factory = _RawFactory

    async def download_request(self, request: Any) -> Any:
        # HTTP11DownloadHandler.download_request, building our agent instead of its own.
        agent = _RawAgent(
            contextFactory=self._contextFactory,
            bindAddress=self._bind_address,
            pool=self._pool,
            maxsize=self._default_maxsize,
            warnsize=self._default_warnsize,
            fail_on_dataloss=self._fail_on_dataloss,
            crawler=self._crawler,
            tls_verbose_logging=self._tls_verbose_logging,
        )
        try:
            with wrap_twisted_exceptions():
                return await maybe_deferred_to_future(agent.download_request(request))
        except ResponseDataLossError:
            if not self._fail_on_dataloss_warned:
                logger.warning(get_dataloss_msg(request.url))
                self._fail_on_dataloss_warned = True
            raise
