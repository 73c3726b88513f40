"""Pytest plugin: the five replica sites, served once per test session on ephemeral ports."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from crawler.replica.server import ReplicaServer


@pytest.fixture(scope="session")
def replica() -> Iterator[ReplicaServer]:
    """All five replica sites on 127.0.0.1; ``replica.origins[site_id]`` is each base URL."""
    server = ReplicaServer().start()
    try:
        yield server
    finally:
        server.stop()
