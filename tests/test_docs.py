"""The README stays true: every setting and every command is documented there."""

import re
from pathlib import Path

from crawler.cli.main import COMMANDS

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_every_environment_setting_is_in_the_configuration_table():
    config = (ROOT / "archive" / "config.py").read_text(encoding="utf-8")
    names = set(re.findall(r'"(GONGHUI_[A-Z_]+)"', config))
    assert names, "archive/config.py reads no GONGHUI_ variable?"
    for name in names:
        assert f"| `{name}` |" in README, f"{name} missing from the README configuration table"


def test_every_command_is_in_the_commands_table():
    for name in COMMANDS:
        assert re.search(rf"\| `gonghui {name}\b", README) or f"`{name}`" in README, name


def test_first_screen_shows_the_demo_and_the_test_command_that_ci_runs():
    first_screen = "\n".join(README.splitlines()[:20])
    assert "gonghui demo" in first_screen
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    test_command = ".venv/bin/python -m pytest"
    assert test_command in first_screen and test_command in ci
