"""Where the web-archive tools live: pywb and py-wacz pin old dependencies, so they get a
virtualenv of their own, ``.venv-pywb`` (.ci/run makes it: ``python3 -m venv .venv-pywb &&
.venv-pywb/bin/pip install pywb wacz``). A test needing one skips with how to install it, or
fails under CI=true, where it must be there."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

VENV = Path(__file__).resolve().parent.parent / ".venv-pywb"


def tool(name: str) -> Path:
    """The path of ``name`` (wb-manager, wayback, wacz, warcio) in .venv-pywb."""
    path = VENV / "bin" / name
    if not path.exists():
        message = (
            f"{path} not installed: python3 -m venv .venv-pywb && "
            ".venv-pywb/bin/pip install pywb wacz"
        )
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path
