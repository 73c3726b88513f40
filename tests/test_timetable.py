"""schedules.timetable: validated at start, every error names the file and the key."""

import datetime as dt
import zoneinfo
from pathlib import Path

import pytest

from archive.errors import ConfigError
from schedules.timetable import load_timetable

SHIPPED = Path(__file__).resolve().parent.parent / "schedules" / "timetable.toml"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "timetable.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_shipped_timetable_names_every_replica_site_at_night_in_shanghai():
    table = load_timetable(SHIPPED, known_sites={"qhzgh", "xazgh", "xnzgh", "bcrb", "tibet3"})
    assert {e.site_id for e in table.entries} == {"qhzgh", "xazgh", "xnzgh", "bcrb", "tibet3"}
    shanghai = zoneinfo.ZoneInfo("Asia/Shanghai")
    start = dt.datetime(2026, 11, 23, 12, 0, tzinfo=shanghai)
    qhzgh = next(e for e in table.entries if e.site_id == "qhzgh")
    assert qhzgh.trigger.get_next_fire_time(None, start) == dt.datetime(
        2026, 11, 24, 2, 10, tzinfo=shanghai
    )


def test_six_field_cron_and_aliases_are_accepted(tmp_path):
    table = load_timetable(write(tmp_path, '[crawl]\na = "*/5 * * * * *"\nb = "@nightly"\n'))
    assert [e.site_id for e in table.entries] == ["a", "b"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[crawl]\nqhzgh = "61 2 * * *"\n', "crawl.qhzgh: bad cron expression"),
        ('[crawl]\nqhzgh = "2 * *"\n', "expected 5 or 6 cron fields"),
        ('[crawl]\nnosuch = "0 2 * * *"\n', "crawl.nosuch: no seed file"),
        ('timezone = "Mars/Olympus"\n[crawl]\nqhzgh = "0 2 * * *"\n', "'timezone'"),
        ("[crawl\n", "not valid TOML"),
        ('colour = "red"\n[crawl]\nqhzgh = "0 2 * * *"\n', "unknown key 'colour'"),
        ('timezone = "Asia/Shanghai"\n', "a [crawl] table"),
    ],
)
def test_malformed_timetable_gives_one_line_naming_file_and_key(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load_timetable(path, known_sites={"qhzgh"})
    assert message in str(err.value)
    assert str(path) in str(err.value)
    assert "\n" not in str(err.value)
