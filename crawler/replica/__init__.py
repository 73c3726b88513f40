"""Local replicas of the five real union news sites, for tests and ``gonghui demo``.

Each site is a faithful imitation of one seed document's site (layout, charset trap, noise)
built around the real article text; ``sites/<site_id>/articles.json`` holds the content and
:mod:`crawler.replica.truth` the ground truth derived from it.
"""

from crawler.replica.server import (
    DEFAULT_PORTS,
    SITE_IDS,
    ReplicaError,
    ReplicaServer,
    RequestLogEntry,
)
from crawler.replica.truth import TruthArticle, all_truth, load_truth

__all__ = [
    "DEFAULT_PORTS",
    "SITE_IDS",
    "ReplicaError",
    "ReplicaServer",
    "RequestLogEntry",
    "TruthArticle",
    "all_truth",
    "load_truth",
]
