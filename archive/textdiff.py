"""What changed between two versions of an article, sentence by sentence. Pure functions.

A new version is stored whenever the content hash of title, body and 来源 changes
(archive.versioning). ``classify_change`` then names the kind of change, checking in this
order and taking the first that applies:

* ``new``: there was no previous version.
* ``retitle``: the title changed (whatever else changed too: a reader sees the title first).
* ``substantive_edit``: the 来源 changed, or a paragraph was added, removed, split or joined,
  or the body changed by more than max(12, 2% of the old body) characters.
* ``minor_edit``: anything smaller, such as a typo fixed in a few characters.

Whitespace is never a change: Chinese text has no spaces between words, and sites re-saved by
a CMS gain and lose them (full-width spaces, line breaks inside a paragraph, ``\\xa0``).
Texts are compared after NFKC (``ＡＣＦＴＵ２０２４`` is ``ACFTU2024``) with all whitespace
and invisible characters removed. A changed character counts once when deleted and once when
inserted, so fixing one wrong character is 2 changes and the minor-edit allowance of 12 is
about six characters' worth of typos.

Changes are counted on a sentence alignment: sentences end at 。！？；… (full- or half-width)
and at paragraph ends; whole sentences inserted or deleted count in full, and a replaced
sentence counts only the characters that differ inside it.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from archive.versioning import normalise_text

ChangeKind = Literal["new", "retitle", "substantive_edit", "minor_edit"]
OpTag = Literal["equal", "insert", "delete", "replace"]

MINOR_CHARS = 12  # changed characters a minor edit may have, however short the body
MINOR_SHARE = 0.02  # ... or this share of the old body's characters, if that is more

# Markers of an inline character diff in ``render_diff``, as in wdiff and git diff --word-diff.
DELETED = ("[-", "-]")
INSERTED = ("{+", "+}")

# Characters that always end a sentence. Half-width ``?`` is handled apart: in the tibet3
# mirror a ``?`` stands for a lost character mid-sentence (``59個(gè)?;I集``), so it ends one only
# before a space, the end of the line, a closing quote or bracket or another terminator.
_ENDS = frozenset("。｡！!？；;…")
_CLOSERS = frozenset("”’」』）)》〉】〕]}\"'")
_LINE_BREAKS = frozenset("\n\r\u2028\u2029\x0b\x0c\x85")
_WHITESPACE = re.compile(r"\s+")
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"))
# A character diff compares every character of one text with every one of the other; past
# this many pairs (a rewritten block of 1000 x 1000 characters) the block counts in full.
_MAX_CELLS = 1_000_000


class ArticleLike(Protocol):
    """What ``classify_change`` reads: ArticleFields, an ORM version row, anything alike."""

    @property
    def title(self) -> str | None: ...
    @property
    def body(self) -> str | None: ...
    @property
    def source(self) -> str | None: ...


@dataclass(frozen=True, slots=True)
class DiffOp:
    """One step from the old sentences to the new, as in ``difflib.SequenceMatcher``."""

    tag: OpTag
    old: list[str]  # sentences of the old text (empty for "insert")
    new: list[str]  # sentences of the new text (empty for "delete")


def sentences(text: str | None) -> list[str]:
    """The sentences of ``text``, each with its terminal punctuation and closing quotes.

    >>> sentences("他说：“要办实事。”全市工会参与！\\n第二段；完")
    ['他说：“要办实事。”', '全市工会参与！', '第二段；', '完']
    """
    if not text:
        return []
    found: list[str] = []
    start = i = 0
    n = len(text)
    while i < n:
        char = text[i]
        if char in _LINE_BREAKS:
            found.append(text[start:i])
            start = i = i + 1
            continue
        end = _sentence_end(text, i)
        if end:
            found.append(text[start:end])
            start = i = end
            continue
        i += 1
    found.append(text[start:])
    return [sentence for sentence in (s.strip() for s in found) if sentence]


def diff_sentences(old: str | None, new: str | None) -> list[DiffOp]:
    """Align the sentences of two texts; sentences equal but for whitespace count as equal."""
    old_sentences, new_sentences = sentences(old), sentences(new)
    matcher = difflib.SequenceMatcher(
        None, [_key(s) for s in old_sentences], [_key(s) for s in new_sentences], autojunk=False
    )
    return [
        DiffOp(tag, old_sentences[i1:i2], new_sentences[j1:j2])  # type: ignore[arg-type]
        for tag, i1, i2, j1, j2 in matcher.get_opcodes()
    ]


def char_changes(old: str | None, new: str | None) -> int:
    """Characters deleted plus characters inserted from ``old`` to ``new``, whitespace ignored."""
    return sum(_op_changes(op) for op in diff_sentences(old, new))


def classify_change(previous: ArticleLike | None, current: ArticleLike) -> ChangeKind:
    """The kind of change from ``previous`` to ``current`` (the rule is in the module doc)."""
    if previous is None:
        return "new"
    if _key(previous.title) != _key(current.title):
        return "retitle"
    if _key(previous.source) != _key(current.source):
        return "substantive_edit"
    if _paragraph_count(previous.body) != _paragraph_count(current.body):
        return "substantive_edit"
    allowance = max(MINOR_CHARS, MINOR_SHARE * len(_key(previous.body)))
    if char_changes(previous.body, current.body) > allowance:
        return "substantive_edit"
    return "minor_edit"


def render_diff(ops: Iterable[DiffOp], context: int | None = None) -> list[tuple[str, str]]:
    """Lines for a terminal as (tag, line); the CLI colours them by tag.

    ``"  "`` starts an unchanged sentence, ``"- "`` a deleted one, ``"+ "`` an inserted one and
    ``"~ "`` a changed one, marked inside: ``~ 全市[-工会-]{+职工+}参与。`` (whitespace is left out
    of a changed sentence). With ``context``, runs of unchanged sentences are cut to that many
    on each side of a change, and a ``("skip", "  …")`` line stands for the rest.
    """
    lines: list[tuple[str, str]] = []
    for op in ops:
        if op.tag == "equal":
            lines.extend(("equal", "  " + sentence) for sentence in op.new)
        elif op.tag == "delete":
            lines.extend(("delete", "- " + sentence) for sentence in op.old)
        elif op.tag == "insert":
            lines.extend(("insert", "+ " + sentence) for sentence in op.new)
        else:
            lines.extend(_render_replace(op.old, op.new))
    return lines if context is None else _elide(lines, context)


def inline_diff(old: str, new: str) -> str:
    """``new`` with the characters of ``old`` it lost in [-…-] and those it gained in {+…+}."""
    old, new = _squash(old), _squash(new)
    parts: list[str] = []
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            parts.append(old[i1:i2])
            continue
        if i2 > i1:
            parts.append(DELETED[0] + old[i1:i2] + DELETED[1])
        if j2 > j1:
            parts.append(INSERTED[0] + new[j1:j2] + INSERTED[1])
    return "".join(parts)


def _sentence_end(text: str, i: int) -> int:
    """Where the sentence ending at ``text[i]`` stops (after its closers), or 0 if it does not."""
    n = len(text)
    j = i
    while j < n and (text[j] in _ENDS or text[j] == "?"):
        j += 1
    if j == i:
        return 0
    if all(c == "?" for c in text[i:j]) and not (
        j == n or text[j].isspace() or text[j] in _CLOSERS
    ):
        return 0  # a lost character, not the end of a question
    while j < n and text[j] in _CLOSERS:
        j += 1
    return j


def _op_changes(op: DiffOp) -> int:
    if op.tag == "equal":
        return 0
    if op.tag != "replace":
        return sum(len(_key(s)) for s in op.old + op.new)
    if len(op.old) == len(op.new):
        return sum(_char_diff(_key(a), _key(b)) for a, b in zip(op.old, op.new, strict=True))
    # A sentence split or joined (，-> 。): compare the block as one text.
    return _char_diff("".join(map(_key, op.old)), "".join(map(_key, op.new)))


def _char_diff(old: str, new: str) -> int:
    if len(old) * len(new) > _MAX_CELLS:
        return len(old) + len(new)
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    same = sum(block.size for block in matcher.get_matching_blocks())
    return len(old) + len(new) - 2 * same


def _render_replace(old: Sequence[str], new: Sequence[str]) -> list[tuple[str, str]]:
    if len(old) == len(new):
        pairs = list(zip(old, new, strict=True))
    else:
        pairs = [("".join(old), "".join(new))]
    if any(len(a) * len(b) > _MAX_CELLS for a, b in pairs):
        return [("delete", "- " + s) for s in old] + [("insert", "+ " + s) for s in new]
    return [("replace", "~ " + inline_diff(a, b)) for a, b in pairs]


def _elide(lines: list[tuple[str, str]], context: int) -> list[tuple[str, str]]:
    changed = [i for i, (tag, _) in enumerate(lines) if tag != "equal"]
    keep = {
        j for i in changed for j in range(max(0, i - context), min(len(lines), i + context + 1))
    }
    out: list[tuple[str, str]] = []
    for i, line in enumerate(lines):
        if i in keep:
            out.append(line)
        elif not out or out[-1][0] != "skip":
            out.append(("skip", "  …"))
    return out


def _key(text: str | None) -> str:
    """What is compared: NFKC, invisible characters and all whitespace removed."""
    return _WHITESPACE.sub("", normalise_text(text))


def _squash(text: str) -> str:
    """What is shown inside a changed sentence: the text as published, whitespace removed."""
    return _WHITESPACE.sub("", text.translate(_INVISIBLE))


def _paragraph_count(body: str | None) -> int:
    normalised = normalise_text(body)
    return normalised.count("\n") + 1 if normalised else 0
