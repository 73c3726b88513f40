"""Turn response bytes into text, keeping the evidence of how.

Never trust ``response.text``: Chinese sites declare GB2312 and send GBK, send GBK with an
``iso-8859-1`` header their server added, or a ``<meta charset=utf-8>`` copied from a template.
The cascade, each step checked against the bytes:

1. a byte-order mark wins;
2. the declared charsets (HTTP header, then ``<meta>``), GB2312/GBK read as GB18030, accepted
   when they decode the bytes with (almost) no errors. Latin-1 style declarations on bytes that
   are not ASCII are not believed: servers send them by default;
3. otherwise charset-normalizer's guess, and UTF-8 / GB18030 / Big5, whichever decodes with the
   fewest errors.

w3lib finds the declarations and normalises charset names; it has no step that checks a
declaration against the bytes, hence this module.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import charset_normalizer
from w3lib.encoding import html_body_declared_encoding, read_bom, resolve_encoding

from archive.records import EncodingEvidence

_CHARSET_RE = re.compile(r"charset\s*=\s*[\"']?([\w.:-]+)", re.IGNORECASE)
# Charsets servers announce by default; on bytes that are not ASCII they are almost always wrong.
_WEAK = {"cp1252", "latin-1", "iso8859-1", "ascii", "windows-1252"}
_GB_FAMILY = {"gb2312", "gbk", "gb18030", "cp936", "hz"}
_FALLBACKS = ("utf-8", "gb18030", "big5hkscs")


@dataclass(frozen=True, slots=True)
class Decoded:
    text: str
    evidence: EncodingEvidence


def http_charset(content_type: str | None) -> str | None:
    """The charset parameter of a Content-Type header, as sent (``text/html; charset=GBK``)."""
    if not content_type:
        return None
    match = _CHARSET_RE.search(content_type)
    return match.group(1) if match else None


def codec_for(label: str | None) -> str | None:
    """Python codec for a charset label; GB2312/GBK become GB18030 (a superset that real
    pages labelled GB2312 need). None for labels Python does not know."""
    if not label:
        return None
    codec = resolve_encoding(label.strip().lower())
    if codec is None:
        return None
    return "gb18030" if codec in _GB_FAMILY else codec


def _errors(body: bytes, codec: str) -> int:
    return body.decode(codec, errors="replace").count("\ufffd") - _preexisting(body, codec)


def _preexisting(body: bytes, codec: str) -> int:
    # U+FFFD already present in the document as text is not a decoding error.
    return 0 if codec != "utf-8" else body.count(b"\xef\xbf\xbd")


def _tolerated(body: bytes, errors: int) -> bool:
    # A real page may carry one or two broken sequences (a truncated GBK pair in a footer).
    return errors <= max(2, len(body) // 2000)


def decode_body(body: bytes, content_type: str | None = None) -> Decoded:
    """Decode HTML bytes; see the module docstring for the cascade."""
    header_label = http_charset(content_type)
    meta_label = html_body_declared_encoding(body[:8192]) if body else None
    ascii_only = body.isascii()

    chosen: str | None = None
    detected: str | None = None
    bom_codec, bom = read_bom(body)
    if bom_codec:
        chosen = codec_for(bom_codec)
        text = body[len(bom) :].decode(chosen or "utf-8", errors="replace")
        return Decoded(text, _evidence(header_label, meta_label, None, chosen or "utf-8", text))

    for label in (header_label, meta_label):
        codec = codec_for(label)
        if codec is None or (codec in _WEAK and not ascii_only):
            continue
        # GB-declared pages that are valid UTF-8 were re-saved as UTF-8 and kept the old meta.
        if codec == "gb18030" and not ascii_only and _errors(body, "utf-8") == 0:
            codec = "utf-8"
        if _tolerated(body, _errors(body, codec)):
            chosen = codec
            break

    if chosen is None:
        if ascii_only:
            chosen = "utf-8"
        else:
            best = charset_normalizer.from_bytes(body[:65536]).best()
            detected = best.encoding if best else None
            guess = codec_for(detected)
            # A single-byte codec decodes any bytes without error, so a guess of cp1251 or
            # mac_cyrillic for a GBK page with one broken pair must not beat the CJK codecs.
            multibyte = [guess] if guess in _FALLBACKS else []
            candidates = list(dict.fromkeys([*multibyte, *_FALLBACKS, *([guess] if guess else [])]))
            chosen = next((c for c in candidates if _tolerated(body, _errors(body, c))), None)
            if chosen is None:
                chosen = min(candidates, key=lambda c: _errors(body, c))

    text = body.decode(chosen, errors="replace")
    return Decoded(text, _evidence(header_label, meta_label, detected, chosen, text))


def _evidence(
    header: str | None, meta: str | None, detected: str | None, chosen: str, text: str
) -> EncodingEvidence:
    return EncodingEvidence(
        http_charset=header,
        meta_charset=meta,
        detected=detected,
        chosen=chosen,
        replacement_count=text.count("\ufffd"),
    )
