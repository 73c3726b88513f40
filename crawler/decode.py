"""Turn response bytes into text, keeping the evidence of how.

Never trust ``response.text``: Chinese sites declare GB2312 and send GBK, send GBK with an
``iso-8859-1`` header their server added, or a ``<meta charset=utf-8>`` copied from a template.
The cascade, each step checked against the bytes:

1. a byte-order mark wins;
2. the declared charsets (HTTP header, then ``<meta>``), GB2312/GBK read as GB18030, accepted
   when they decode the bytes with (almost) no errors. Latin-1 style declarations on bytes that
   are not ASCII are not believed: servers send them by default;
3. otherwise the one of UTF-8 / GB18030 / Big5 that decodes every byte, when only one does;
   failing that charset-normalizer's guess, and those three, whichever decodes with the fewest
   errors.

w3lib finds the declarations and normalises charset names; it has no step that checks a
declaration against the bytes, hence this module.

``parseable`` then says whether the text is a page at all (not an image or a gzip blob saved
under ``.html``) and hands the HTML parser what it can take: see its docstring.
"""

from __future__ import annotations

import html
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
# Control characters no text page carries (tab, newlines, form feed and ESC are text). Binary
# bytes decode to them in every codec; a page in the wrong codec gives U+FFFD instead.
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0e-\x1a\x1c-\x1f]")
_BINARY_SAMPLE = 8192
_XML_DECLARATION_RE = re.compile(r"\A\s*<\?xml[^>]*>")
_MARKUP_RE = re.compile(r"<[a-zA-Z!/?]")
_DOCUMENT_END_RE = re.compile(r"</\s*(?:body|html)\s*>", re.IGNORECASE)
_SENTENCE_ENDS = ("。", "！", "？", "；", "：", ".", "!", "?", ";", ":")


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
        clean = [] if ascii_only else [c for c in _FALLBACKS if _errors(body, c) == 0]
        if ascii_only:
            chosen = "utf-8"
        elif len(clean) == 1:
            # Exactly one candidate reads every byte: nothing left for a guess to decide (the
            # guess costs more than the three decodes; ``detected`` stays None: not asked).
            chosen = clean[0]
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


def parseable(text: str) -> tuple[str, str | None]:
    """The decoded text as the HTML parser should get it, and the reason it is not a page.

    * ``""`` or whitespace: ``empty_page``;
    * an image, archive or other binary file, whatever its name or Content-Type: in its first
      8 KB, one character in fifty (four at least) is a control character once decoded (a PNG
      header ``\\x89PNG\\r\\n\\x1a\\n\\x00\\x00\\x00``, gzip ``\\x1f\\x8b\\x08\\x00``; compressed data
      gives one in ten): ``binary_content``. Text pages have none, or a stray one;
    * ``<?xml version="1.0" encoding="gb2312"?>`` opening an XHTML page is dropped: the text is
      already decoded, and lxml refuses a str that declares an encoding;
    * plain text without any tag becomes one ``<p>`` per line, as a reader sees its lines, and
      a short first line that is not a sentence its ``<h1>``;
    * ``</body>`` and ``</html>`` end tags are dropped: a CMS that pastes a header fragment
      (SSI) leaves one in the middle of the page, and libxml2 discards everything after it,
      article and links included, where a browser (HTML5 parsing) reads on. The parser closes
      both at the end of the text anyway.
    """
    if not text.strip():
        return text, "empty_page"
    sample = text[:_BINARY_SAMPLE]
    if len(_CONTROL_RE.findall(sample)) >= max(4, len(sample) // 50):
        return text, "binary_content"
    text = _XML_DECLARATION_RE.sub("", text, count=1)
    if not _MARKUP_RE.search(text):
        text = _text_as_html(text)
    return _DOCUMENT_END_RE.sub("", text), None


def _text_as_html(text: str) -> str:
    lines = [html.escape(line) for line in (raw.strip() for raw in text.splitlines()) if line]
    # A saved article's first line is its headline when it is short and not a sentence.
    if len(lines) > 1 and len(lines[0]) <= 60 and not lines[0].endswith(_SENTENCE_ENDS):
        return f"<h1>{lines[0]}</h1>" + "".join(f"<p>{line}</p>" for line in lines[1:])
    return "".join(f"<p>{line}</p>" for line in lines)
