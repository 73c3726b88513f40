"""The synthetic archive of benchmarks/reprints_100k.py (also loaded by growth.py): article i
is deterministic from (seed, i) alone, so any process can rebuild any article.

Every body sentence of the replica sites' seed text (crawler/replica/sites/*/articles.json,
cut at 。！？) goes into a pool (the ``sentences`` corpus; ``clauses`` builds each sentence from
2-4 clauses of different ones); an article is 6-20 pool sentences in paragraphs of 1-4, each
paragraph carrying a date string or a 2-digit number, spread over the 5 sites. About 2% are
planted reprints of an earlier article: on another site, one sentence dropped or replaced, a
footer like （西宁市总工会） appended. Texts, band keys and signatures are made in worker
processes (``Pool``) with ``archive.similarity``.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing as mp
import random
import re

import numpy as np

# Imported by the benchmark scripts, which put the project and benchmarks/ on sys.path.
from archive.similarity import (
    NUM_PERM,
    fingerprint_text,
    shingles,
    signature,
)
from crawler.replica.data import SITE_IDS, load_site

REPRINT_SHARE = 0.02
_SENTENCE = re.compile(r"[^。！？]+[。！？]?")
_CLAUSE = re.compile(r"[^，；：,;:。！？]+[，；：,;:]?")
CORPORA = ("sentences", "clauses")
FOOTERS = ("西宁市总工会", "青海省总工会", "西安市总工会", "海东市总工会", "格尔木市总工会")


# --- synthetic articles -------------------------------------------------------------------


class Corpus:
    """Article i, deterministic from (seed, i) alone, so any process can rebuild any article.

    Articles 0 .. articles-1 are the loaded ones; ``plan[i]`` is the original that article i
    reprints (always an article that is not itself a reprint) or -1. Query articles use
    indices from ``articles`` on.
    """

    def __init__(self, seed: int, articles: int, kind: str = "sentences") -> None:
        self.seed, self.kind = seed, kind
        self.sentences, self.titles, self.site_names = _seed_text()
        self.clauses = sorted(
            {c.strip() for s in self.sentences for c in _CLAUSE.findall(s)} - {""}
        )
        self.sites = list(SITE_IDS)
        rng = random.Random(f"{seed}/plan")
        plan = [-1] * articles
        for i in range(10, articles):
            if rng.random() < REPRINT_SHARE:
                j = rng.randrange(i)
                plan[i] = plan[j] if plan[j] >= 0 else j
        self.plan = plan

    def site(self, i: int) -> int:
        """Index into ``sites`` of article i; a reprint is on another site than its original."""
        own = random.Random(f"{self.seed}/site/{i}").randrange(len(self.sites))
        original = self.plan[i] if i < len(self.plan) else -1
        if original >= 0 and own == self.site(original):
            own = (own + 1) % len(self.sites)
        return own

    def paragraphs(self, i: int) -> list[list[str]]:
        """The body of a fresh article i: 6-20 pool sentences in paragraphs of 1-4."""
        rng = random.Random(f"{self.seed}/article/{i}")
        count = rng.randint(6, 20)
        if self.kind == "sentences":
            sentences = [self.sentences[x] for x in rng.sample(range(len(self.sentences)), count)]
        else:
            sentences = [self.mixed_sentence(rng) for _ in range(count)]
        paragraphs = []
        k = 0
        while k < len(sentences):
            size = rng.randint(1, 4)
            group = sentences[k : k + size]
            k += size
            if rng.random() < 0.5:
                group[0] = _date_string(rng) + group[0]
            else:  # a number somewhere inside the first sentence
                s = group[0]
                at = rng.randrange(1, len(s))
                group[0] = f"{s[:at]}{rng.randint(10, 99)}{s[at:]}"
            paragraphs.append(group)
        return paragraphs

    def mixed_sentence(self, rng: random.Random) -> str:
        """A sentence of 2-4 clauses (cut at ，；：) of different seed sentences."""
        text = "".join(rng.sample(self.clauses, rng.randint(2, 4)))
        return (text[:-1] if text[-1] in "，；：,;:" else text) + "。"

    def reprint_of(self, paragraphs: list[list[str]], rng: random.Random) -> list[list[str]]:
        """An edited repost: one sentence dropped or replaced, a footer line appended."""
        paras = [list(p) for p in paragraphs]
        spots = [(a, b) for a, p in enumerate(paras) for b in range(len(p))]
        a, b = rng.choice(spots)
        if rng.random() < 0.5:
            del paras[a][b]
            paras = [p for p in paras if p]
        else:
            paras[a][b] = (
                rng.choice(self.sentences) if self.kind == "sentences" else self.mixed_sentence(rng)
            )
        paras.append([f"（{rng.choice(FOOTERS)}）"])
        return paras

    def article(self, i: int) -> tuple[str, str, str | None]:
        """(title, body, source) of loaded article i."""
        original = self.plan[i] if i < len(self.plan) else -1
        if original < 0:
            paras, source, title_of = self.paragraphs(i), None, i
        else:
            rng = random.Random(f"{self.seed}/reprint/{i}")
            paras = self.reprint_of(self.paragraphs(original), rng)
            source, title_of = self.site_names[self.site(original)], original
        return self.title(title_of), join_body(paras), source

    def title(self, i: int) -> str:
        rng = random.Random(f"{self.seed}/title/{i}")
        return f"{rng.choice(self.titles)}（{rng.randint(1, 999)}）"


def _seed_text() -> tuple[list[str], list[str], list[str]]:
    sentences: list[str] = []
    seen: set[str] = set()
    titles, names = [], []
    for site_id in SITE_IDS:
        site = load_site(site_id)
        names.append(site.name)
        for article in site.articles:
            titles.append(article.title)
            for paragraph in article.body:
                for s in _SENTENCE.findall(paragraph):
                    s = s.strip()
                    if len(s) >= 4 and s not in seen:
                        seen.add(s)
                        sentences.append(s)
    return sentences, titles, names


def _date_string(rng: random.Random) -> str:
    y, m, d = rng.randint(2015, 2025), rng.randint(1, 12), rng.randint(1, 28)
    return rng.choice(
        (
            f"{y}年{m}月{d}日，",
            f"{m}月{d}日，",
            f"{y}年{m}月，",
            f"{m}月{d}日上午，",
            f"{y}-{m:02d}-{d:02d}，",
        )
    )


def join_body(paragraphs: list[list[str]]) -> str:
    return "\n".join("".join(p) for p in paragraphs)


def _keys(title: str, body: str) -> list[int]:
    return signature(shingles(fingerprint_text(title, body))).band_keys()


# --- worker processes (text and signatures) -------------------------------------------------

_CORPUS: Corpus | None = None


def _init_worker(seed: int, articles: int, kind: str) -> None:
    global _CORPUS
    _CORPUS = Corpus(seed, articles, kind)


def make_chunk(start: int, stop: int) -> tuple[list[tuple], np.ndarray]:
    """Rows of articles start..stop-1 and their MinHash values (uint32, one row each)."""
    assert _CORPUS is not None
    out, values = [], np.zeros((stop - start, NUM_PERM), dtype=np.uint32)
    for i in range(start, stop):
        title, body, source = _CORPUS.article(i)
        sig = signature(shingles(fingerprint_text(title, body)))
        values[i - start] = sig.hashvalues
        out.append((i, _CORPUS.site(i), title, body, source, sig.band_keys()))
    return out, values


def shingles_of(corpus: Corpus, i: int) -> np.ndarray:
    title, body, _ = corpus.article(i)
    return shingles(fingerprint_text(title, body))


class Pool:
    """A process pool for text and signatures (None with one worker)."""

    def __init__(self, workers: int, corpus: Corpus) -> None:
        self.workers, self.corpus, self.executor = workers, corpus, None

    def __enter__(self) -> cf.ProcessPoolExecutor | None:
        if self.workers <= 1:
            global _CORPUS
            _CORPUS = self.corpus
            return None
        self.executor = cf.ProcessPoolExecutor(
            self.workers,
            mp_context=mp.get_context("spawn"),
            initializer=_init_worker,
            initargs=(self.corpus.seed, len(self.corpus.plan), self.corpus.kind),
        )
        return self.executor

    def __exit__(self, *exc: object) -> None:
        if self.executor is not None:
            self.executor.shutdown()
