"""Reprints: which archived articles carry the same text as this one? Pure functions, no database.

The same article is published again and again: another union's site reposts it with its own
来源 line and footer, an editor drops a sentence, the tibet3 mirror serves it in zh-Hant (read
back to zh-Hans by ``crawler.extract.hant``). Different articles on one topic (金秋助学 in
西安 and in 西宁) share much of their vocabulary but are not reprints, and neither is a long
annual roundup that quotes several short articles verbatim.

How an article is compared, step by step:

1. ``fingerprint_text``: the body (the title too only when the body is very short), NFKC,
   lowercase, nothing but CJK ideographs, letters and digits.
2. ``shingles``: every run of SHINGLE consecutive characters, hashed to 64 bits. Chinese has
   no spaces, so words are no use; character n-grams need no word segmentation.
3. ``signature``: a MinHash of the shingles (NUM_PERM values), stored with the article.
4. ``Signature.band_keys``: BANDS integers, each one hash of ROWS signature values. Two
   articles sharing any band key are *candidates*; an index on the keys finds them at once.
5. ``is_reprint``: a candidate is a reprint when the exact Jaccard similarity of the two
   shingle sets is at least REPRINT_JACCARD. The signature only finds candidates; the decision
   is always made on the exact sets, so it never depends on the luck of the permutations.

Measured on the replica sites (crawler/replica/sites): a reprint with another footer, a
dropped sentence or a zh-Hant round trip has Jaccard 0.8-1.0; different articles, even ones
from one template (西宁市工会将大力实施“X”行动), at most 0.17; a roundup and the short
articles it quotes 0.16-0.41.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    # Imported where used: ``import datasketch`` takes 0.7 s (scipy, its async storage
    # backends), which every crawl and CLI command would pay for nothing.
    from datasketch import LeanMinHash  # type: ignore[import-untyped]

# Five characters is two to three Chinese words. Measured on the replica articles: with 2- or
# 3-character shingles, unrelated articles share common words (工会, 职工, 服务) and reach
# Jaccard 0.19-0.23; from 5 on that falls to 0.17 for two articles from one template and 0.07
# for any other pair, and barely falls further at 6 or 8. Shorter shingles are kinder to small
# edits (one changed character breaks SHINGLE shingles), so 5 is the smallest that separates.
SHINGLE = 5

NUM_PERM = 128  # MinHash values per signature
# From datasketch's own optimiser, weighting a missed reprint four times a false candidate
# (a false candidate costs one exact Jaccard, a missed reprint is lost for good):
# ``datasketch.lsh._optimal_param(0.5, 128, 0.2, 0.8) == (30, 4)``. Its S-curve: an article
# becomes a candidate with probability 0.05 at Jaccard 0.2, 0.86 at 0.5, 0.98 at 0.6, 0.9996 at
# 0.7 and 1 - 1e-7 at 0.8 (the least a real reprint measured). The equal-weight optimum (25, 5)
# would miss 13% of pairs at 0.6. 30 bands use 120 of the 128 values.
BANDS, ROWS = 30, 4
# Reprints measure 0.8 and more, a roundup against a short article it quotes at most 0.41,
# different articles at most 0.17: 0.6 sits between with room on both sides. It also means an
# edited repost may drop up to 40% of the text and still count (Jaccard of a subset is the
# share it keeps). There is no containment rule (share of the shorter text found in the longer
# one): the quoted short article is contained in the roundup entirely, so any containment rule
# merges them unless it also requires similar lengths, which is the Jaccard rule again.
REPRINT_JACCARD = 0.6
# Below this many characters of body the title is compared too: a short notice is mostly
# boilerplate (详见附件, 特此通知) and its title is what tells it apart. Above it the title is
# left out, so a retitled repost still matches.
SHORT_BODY = 50

# The MinHash parameters are part of every stored signature and band key: change any of them
# (or SHINGLE, or the text normalisation) and every article must be signed again.
SEED = 1
SCHEME = "affine32"  # datasketch >= 2.0: a bijective a*h+b mod 2**32 per permutation

# Everything that is not a letter, digit or ideograph: punctuation, whitespace, ? and U+FFFD
# (a character the converter lost), and the underscore that \w lets through.
_NOT_WORD = re.compile(r"[\W_]+")
_EMPTY_VALUE = np.uint32(0xFFFFFFFF)  # datasketch's "no shingle seen" value for affine32

_M64 = np.uint64(0x9E3779B97F4A7C15)  # odd, 2**64 / golden ratio: multiplier of the rolling hash
_U64 = np.uint64


def fingerprint_text(title: str | None, body: str | None) -> str:
    """The text compared for reprints: NFKC, lowercase, CJK ideographs, letters and digits only.

    The body alone unless it has fewer than SHORT_BODY such characters; then title + body.
    Input is the zh-Hans reading (``ArticleFields.hans_body``), pinyin artefacts removed; a
    character lost as ``?`` is dropped here like punctuation.

    >>> fingerprint_text("标题", "全总召开座谈会。\\n与会代表：ＡＣＦＴＵ（2024）")
    '标题全总召开座谈会与会代表acftu2024'
    """
    text = _clean(body)
    if len(text) < SHORT_BODY:
        text = _clean(title) + text
    return text


def shingles(text: str) -> np.ndarray:
    """Sorted unique 64-bit hashes (uint64) of every SHINGLE-character run of ``text``.

    A text shorter than SHINGLE (but not empty) is one shingle of itself, so two very short
    texts still compare equal or different; an empty text has no shingles and is a reprint
    of nothing. ``text`` should come from ``fingerprint_text``.

    The hash is a rolling polynomial over the code points finished with the MurmurHash3
    mixer, computed with numpy for all positions at once: stable across processes, machines
    and Python versions (never ``hash()``), and 10-50x faster than hashing each shingle.
    """
    if not text:
        return np.empty(0, dtype=np.uint64)
    codes = np.frombuffer(text.encode("utf-32-le"), dtype="<u4").astype(np.uint64)
    width = min(SHINGLE, len(codes))
    count = len(codes) - width + 1
    hashes = np.full(count, width, dtype=np.uint64)  # the width seeds it: "工会" != "工会xxx"[:2]
    for i in range(width):
        hashes ^= codes[i : i + count]
        hashes *= _M64
    hashes = _fmix64(hashes)
    hashes.sort()
    if count > 1:
        hashes = hashes[np.concatenate(([True], hashes[1:] != hashes[:-1]))]
    return hashes


def jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """Exact Jaccard similarity of two shingle sets from ``shingles``; 0.0 if both are empty."""
    if not len(a) or not len(b):
        return 0.0
    common = len(np.intersect1d(a, b, assume_unique=True))
    return common / (len(a) + len(b) - common)


def is_reprint(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether two articles' shingle sets are the same text: exact Jaccard >= REPRINT_JACCARD."""
    return jaccard(a, b) >= REPRINT_JACCARD


def candidate_probability(similarity: float) -> float:
    """The chance that two articles with this Jaccard similarity share a band key."""
    return 1.0 - (1.0 - similarity**ROWS) ** BANDS


@dataclass(frozen=True, eq=False)
class Signature:
    """The MinHash of one article's shingles: NUM_PERM uint32 values (read-only array)."""

    hashvalues: np.ndarray

    def __post_init__(self) -> None:
        values = np.asarray(self.hashvalues, dtype=np.uint32)
        if values.shape != (NUM_PERM,):
            raise ValueError(f"a signature has {NUM_PERM} values, got shape {values.shape}")
        if values is self.hashvalues:
            values = values.copy()
        values.setflags(write=False)
        object.__setattr__(self, "hashvalues", values)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Signature):
            return NotImplemented
        return bool(np.array_equal(self.hashvalues, other.hashvalues))

    def __hash__(self) -> int:
        return hash(self.hashvalues.tobytes())

    @property
    def is_empty(self) -> bool:
        """The signature of a text without shingles: it matches nothing."""
        return bool((self.hashvalues == _EMPTY_VALUE).all())

    def band_keys(self) -> list[int]:
        """BANDS keys in [0, 2**63): store them in a BIGINT column, look candidates up by them.

        Each key hashes ROWS signature values together with the band's number, so one column
        holds every band without a key of band 3 ever meeting one of band 7. Empty for an
        empty signature (otherwise every empty article would be everyone's candidate).
        """
        if self.is_empty:
            return []
        rows = self.hashvalues[: BANDS * ROWS].astype(np.uint64).reshape(BANDS, ROWS)
        keys = (np.arange(1, BANDS + 1, dtype=np.uint64) << _U64(32)) | _U64(SEED)
        for row in range(ROWS):
            keys = _fmix64(keys ^ rows[:, row])
        return (keys >> _U64(1)).astype(np.int64).tolist()

    def estimate_jaccard(self, other: Signature) -> float:
        """Share of equal values: an estimate of Jaccard (about +-0.05), for diagnostics only."""
        return float(np.mean(self.hashvalues == other.hashvalues))

    def to_minhash(self) -> LeanMinHash:
        """The datasketch form, e.g. for an in-memory ``MinHashLSH``."""
        from datasketch import LeanMinHash

        return LeanMinHash(seed=SEED, hashvalues=self.hashvalues, scheme=SCHEME)

    def to_bytes(self) -> bytes:
        """datasketch's LeanMinHash format (seed, size, scheme, values), little-endian always.

        Little-endian on purpose: datasketch's default byte order is the machine's own.
        """
        lean = self.to_minhash()
        buf = bytearray(lean.bytesize(byteorder="<"))
        lean.serialize(buf, byteorder="<")
        return bytes(buf)

    @classmethod
    def from_bytes(cls, data: bytes) -> Signature:
        """Read ``to_bytes``; ValueError for a signature made with other parameters."""
        from datasketch import LeanMinHash

        lean = LeanMinHash.deserialize(data, byteorder="<")
        if (lean.seed, lean.scheme, len(lean.hashvalues)) != (SEED, SCHEME, NUM_PERM):
            raise ValueError(
                f"signature made with seed {lean.seed}, scheme {lean.scheme}, "
                f"{len(lean.hashvalues)} values; this archive uses {SEED}, {SCHEME}, {NUM_PERM}"
            )
        return cls(np.asarray(lean.hashvalues, dtype=np.uint32))


# Shingles permuted at once. The (permutations x shingles) matrix is reduced along its rows,
# which numpy does with SIMD; 128 x 4096 x 4 bytes = 2 MiB stays in the cache. Measured: an
# 8000-character body takes 0.22 ms this way, 1.1 ms as one (shingles x permutations) block.
_CHUNK = 4096


def signature(shingle_set: np.ndarray) -> Signature:
    """The MinHash of a shingle set from ``shingles``.

    Bit for bit what ``MinHash(NUM_PERM, seed=SEED, scheme=SCHEME, hashfunc=<identity>)``
    gives after ``update_batch`` of the shingles' top 32 bits (a test checks it), computed here
    with datasketch's own permutations but without its per-item Python loop: ``update_batch``
    calls the hash function once per shingle and builds an array from a list, 0.9 ms for a
    2000-character body, three times the budget of the whole lookup.
    """
    a, b = _permutations()
    values = np.full(NUM_PERM, _EMPTY_VALUE, dtype=np.uint32)
    if len(shingle_set):
        top = _fmix32((np.asarray(shingle_set, dtype=np.uint64) >> _U64(32)).astype(np.uint32))
        for start in range(0, len(top), _CHUNK):
            permuted = np.multiply.outer(a, top[start : start + _CHUNK])
            permuted += b[:, None]
            np.minimum(values, permuted.min(axis=1), out=values)
    return Signature(values)


@functools.cache
def _permutations() -> tuple[np.ndarray, np.ndarray]:
    """datasketch's (a, b) for SEED and SCHEME ("affine32"), made on first use.

    Drawn here as ``datasketch.MinHash._init_permutations`` draws them (an odd ``a`` and a
    ``b`` from ``numpy.random.RandomState(seed)``, whose stream numpy keeps stable across
    versions by policy) rather than by constructing a MinHash: ``import datasketch`` imports
    scipy, half a second of every crawl's start for two arrays of 128 numbers. A test checks
    them against datasketch's own, and another pins a band key, so a change cannot go unseen.
    """
    gen = np.random.RandomState(SEED)
    a = gen.randint(0, 1 << 31, NUM_PERM, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = gen.randint(0, 1 << 32, NUM_PERM, dtype=np.uint32)
    return a, b


def _clean(text: str | None) -> str:
    if not text:
        return ""
    return _NOT_WORD.sub("", unicodedata.normalize("NFKC", text).lower())


def _fmix64(h: np.ndarray) -> np.ndarray:
    """MurmurHash3's 64-bit finaliser, element-wise (wrapping multiplication is intended)."""
    h = h ^ (h >> _U64(33))
    h *= _U64(0xFF51AFD7ED558CCD)
    h ^= h >> _U64(33)
    h *= _U64(0xC4CEB9FE1A85EC53)
    h ^= h >> _U64(33)
    return h


def _fmix32(h: np.ndarray) -> np.ndarray:
    """MurmurHash3's 32-bit finaliser: datasketch applies it to every input before permuting."""
    h = h ^ (h >> np.uint32(16))
    h *= np.uint32(0x85EBCA6B)
    h ^= h >> np.uint32(13)
    h *= np.uint32(0xC2B2AE35)
    h ^= h >> np.uint32(16)
    return h
