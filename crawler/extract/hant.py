"""A zh-Hans reading of an article's text, kept beside the text as published.

The tibet3 mirror runs simplified text through a broken simplified-to-traditional converter.
Three things come out of it, each with a real sample from the mirror:

* pinyin after some characters: ``中國藏族網(wǎng)通訊``, ``勞動(dòng)``, ``新進(jìn)展``;
* characters lost as ``?``, often taking the next bytes with them: ``實打?qū)嵉胤?wù)``
  (the lost character ate the opening bracket of its pinyin), ``59個(gè)?;I集``,
  ``?7月24日`` at the head of a paragraph;
* traditional characters where the source had simplified ones.

``normalise`` undoes the first and third (pinyin removed, OpenCC ``t2s``) and counts the second.
The archive stores the published text untouched; this is only the readable, searchable copy.

Lost characters stay in the zh-Hans text as ``?``: deleting them would join the neighbours
into a word that was never written (``實打?地`` -> ``实打地``) and hide that something is
missing. Only the pinyin tail a lost character leaves behind (``?wù)``) is removed.
"""

from __future__ import annotations

import dataclasses
import functools
import operator
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from archive.records import ArticleFields

if TYPE_CHECKING:
    import opencc

Script = Literal["hans", "hant"]

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
_CJK_RE = re.compile(f"[{_CJK}]")
_LOST = "?？\ufffd"
_TONED = "āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜü"
_SYLLABLES = f"[a-z{_TONED}]+(?: [a-z{_TONED}]+)*"
# A bracketed run of lowercase syllables right after a CJK character (or a lost one):
# ``網(wǎng)``, ``進(jìn zhǎn)``, full-width ``（láo）`` too. Whether it is pinyin is decided in
# _is_pinyin, so ``工会(union)`` and ``(café)`` stay.
_ARTEFACT_RE = re.compile(f"(?<=[{_CJK}{_LOST}])[(（]({_SYLLABLES})[)）]")
# The tail of an artefact whose head character and opening bracket were lost: ``?wù)``.
_ORPHAN_RE = re.compile(f"(?<=[{_LOST}])({_SYLLABLES})[)）]")
_LOST_RUN_RE = re.compile(f"[{_LOST}]+")
# Initial, one to three vowels, an optional final nasal or r: every Mandarin syllable once the
# tone marks are off (zhuǎn, xiàng, qū, er), and few words of any other language (café, josé).
_PINYIN_SYLLABLE_RE = re.compile(r"(?:zh|ch|sh|[bpmfdtnlgkhjqxrzcsyw])?[aeiouü]{1,3}(?:ng|n|r)?")
_DETONE = str.maketrans("āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜ", "aaaaeeeeiiiioooouuuuüüüü")

# After a real question mark comes what can follow the end of a sentence.
_CLOSERS = frozenset("”’」』）)》〉】〕]}\"'")
_OPENERS = frozenset("“‘「『（(《〈【〔[{\"'")
_RUNS_ON = frozenset("—…-")
_EXCLAIM = frozenset("!！")

HANT_SHARE = 0.05  # of CJK characters rewritten by t2s, from which a text counts as zh-Hant


@dataclass(frozen=True, slots=True)
class Normalised:
    """One text read as zh-Hans, with what it took to get there."""

    hans: str
    artefacts_removed: int  # converter pinyin groups taken out
    lost_chars: int  # ?, ？ or U+FFFD standing for a character the converter lost
    script: Script | None  # what the text was published in; None for text without CJK


def normalise(text: str) -> Normalised:
    """Pinyin artefacts out, lost characters counted, then OpenCC t2s if the text is zh-Hant.

    >>> normalise("中國藏族網(wǎng)通訊 勞動(dòng)")
    Normalised(hans='中国藏族网通讯 劳动', artefacts_removed=2, lost_chars=0, script='hant')
    """
    return normalise_parts((text,))[0]


def normalise_parts(texts: Sequence[str]) -> list[Normalised]:
    """``normalise`` for the parts of one article, judged zh-Hant or zh-Hans together.

    A text is zh-Hant when t2s rewrites at least one CJK character in HANT_SHARE (any real
    zh-Hant text has far more: the tibet3 pages about one in five). Below that the text is
    zh-Hans and left as it is: zh-Hans pages hold characters that t2s would rewrite, and
    rewriting them breaks names (乾清宫 -> 干清宫, 昇兴股份 -> 升兴股份) and words (慰藉).
    Judged over all parts, so a short title cannot tip the article on its own.
    """
    cleaned = [_clean(text) for text in texts]
    cjk = sum(len(_CJK_RE.findall(text)) for text, _, _ in cleaned)
    if not cjk:
        return [Normalised(text, removed, lost, None) for text, removed, lost in cleaned]
    converter = _converter()
    converted = [converter.convert(text) for text, _, _ in cleaned]
    changed = sum(
        _changed(text, hans) for (text, _, _), hans in zip(cleaned, converted, strict=True)
    )
    if changed < cjk * HANT_SHARE:
        return [Normalised(text, removed, lost, "hans") for text, removed, lost in cleaned]
    return [
        Normalised(hans, removed, lost, "hant")
        for (_, removed, lost), hans in zip(cleaned, converted, strict=True)
    ]


def with_hans(fields: ArticleFields) -> ArticleFields:
    """``fields`` with the zh-Hans title and body filled in (None where they equal the original).

    Only the differing text is stored: most sites publish zh-Hans, and readers fall back to the
    original when ``*_hans`` is None.
    """
    title, body = normalise_parts((fields.title, fields.body))
    return dataclasses.replace(
        fields,
        title_hans=title.hans if title.hans != fields.title else None,
        body_hans=body.hans if body.hans != fields.body else None,
        artefacts_removed=title.artefacts_removed + body.artefacts_removed,
        lost_chars=title.lost_chars + body.lost_chars,
        script=body.script or title.script,
    )


def lost_marks(text: str) -> list[int]:
    """Offsets of the ``?``, ``？`` and U+FFFD in ``text`` that stand for a lost character.

    U+FFFD always does. A run of question marks does unless it reads as the end of a question.
    That needs Chinese text around it (a CJK character next to it or the start of a line before
    it; ``index.php?id=1`` and ``official? A`` are no lost CJK characters), something before it
    on its line (no paragraph opens with a question mark: ``?7月24日``), and after it what can
    follow the end of a sentence: the end of the line, a space, a CJK character, a capital or a
    digit, a quote or bracket, a dash or an ellipsis, or exclamation marks that themselves end
    the line or close a quote. What the converter leaves instead is a stray half of a
    character or of a full-width mark: ``?qū)``, ``?;I集``, ``?!比瞬``.

    Not counted, knowingly: a lost character between two CJK characters (``表现得?加明显``)
    reads exactly like ``是什么?但是`` and telling them apart needs a language model; and
    ``吗?!我`` is counted although it may be a real question.
    """
    lost: list[int] = []
    for match in _LOST_RUN_RE.finditer(text):
        start, end = match.span()
        for i in range(start, end):
            if text[i] == "\ufffd":
                lost.append(i)
        marks = [i for i in range(start, end) if text[i] != "\ufffd"]
        if marks and not _is_question(text, start, end):
            lost.extend(marks)
    return sorted(lost)


def _clean(text: str) -> tuple[str, int, int]:
    """The text without pinyin artefacts, how many went, and how many characters were lost."""
    # Artefacts first, so a lost character is judged by the text beside it, not by (gè).
    text, removed = _remove_pinyin(_ARTEFACT_RE, text)
    lost_at = lost_marks(text)
    if lost_at:
        lost = set(lost_at)
        text, orphans = _remove_pinyin(_ORPHAN_RE, text, lambda m: m.start() - 1 in lost)
        removed += orphans
    return text, removed, len(lost_at)


def _is_question(text: str, start: int, end: int) -> bool:
    before = text[start - 1] if start > 0 and text[start - 1] != "\n" else None
    after = text[end] if end < len(text) and text[end] != "\n" else None
    in_chinese = before is None or _is_cjk(before) or (after is not None and _is_cjk(after))
    if not in_chinese:
        return True  # a URL's query, an English question: not a lost CJK character
    if before is None:
        return False
    if after in _EXCLAIM:
        k = end
        while k < len(text) and text[k] in _EXCLAIM:
            k += 1
        nxt = text[k] if k < len(text) else None
        return nxt is None or nxt.isspace() or nxt in _CLOSERS
    return (
        after is None
        or after.isspace()
        or _is_cjk(after)
        or after.isupper()
        or after.isdigit()
        or after in _CLOSERS
        or after in _OPENERS
        or after in _RUNS_ON
    )


def _remove_pinyin(
    pattern: re.Pattern[str],
    text: str,
    where: Callable[[re.Match[str]], bool] = lambda m: True,
) -> tuple[str, int]:
    """``text`` without the matches of ``pattern`` that are pinyin (and ``where``), and how many."""
    removed = 0

    def drop(match: re.Match[str]) -> str:
        nonlocal removed
        if not (where(match) and _is_pinyin(match.group(1))):
            return match.group(0)
        removed += 1
        return ""

    return pattern.sub(drop, text), removed


def _changed(text: str, hans: str) -> int:
    """Characters t2s rewrote (it maps character for character, phrases included)."""
    if text == hans:
        return 0
    return sum(map(operator.ne, text, hans)) + abs(len(text) - len(hans))


def _is_pinyin(group: str) -> bool:
    """Lowercase syllables, at least one with a tone mark or ü, each shaped like Mandarin."""
    if not any(c in _TONED for c in group):
        return False
    plain = unicodedata.normalize("NFC", group).translate(_DETONE)
    return all(_PINYIN_SYLLABLE_RE.fullmatch(s) for s in plain.split(" "))


def _is_cjk(char: str) -> bool:
    return _CJK_RE.match(char) is not None


@functools.cache
def _converter() -> opencc.OpenCC:
    """One converter per process, made on first use (it loads its dictionaries from disk)."""
    import opencc

    return opencc.OpenCC("t2s")
