"""crawler.seeds: seed files validate on load, errors name the file and the field."""

import re
import shutil
from pathlib import Path

import pytest

from archive.errors import ConfigError
from crawler.seeds import ExtractHints, Politeness, Seed, load_seed_file, load_seeds, select_seeds

SEEDS = Path(__file__).resolve().parent.parent / "seeds"


def test_shipped_seeds_load_the_five_replica_sites():
    seeds = load_seeds(SEEDS)
    assert set(seeds) == {"qhzgh", "xazgh", "xnzgh", "bcrb", "tibet3"}
    assert all(s.replica for s in seeds.values())


def test_live_seeds_exist_only_for_hosts_the_seed_documents_give():
    live = load_seeds(SEEDS / "live")
    assert {s.origin for s in live.values()} == {"http://www.bcxww.com", "http://www.tibet3.com"}


def test_every_seed_field_is_documented_in_the_seeds_readme():
    readme = (SEEDS / "README.md").read_text(encoding="utf-8")
    for model in (Seed, Politeness, ExtractHints):
        for name in model.model_fields:
            assert re.search(rf"\| `{name}` \|", readme), f"{model.__name__}.{name} undocumented"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda t: t.replace("article_patterns = ['", "article_patterns = ['(["), "article_patterns"),
        (lambda t: t.replace('name = "青海省总工会"\n', ""), "name"),
        (lambda t: "colour = 'red'\n" + t, "colour"),
        (lambda t: t.replace('id = "qhzgh"', 'id = "QH"'), "id"),
        (lambda t: t.replace("download_delay = 0.05", "download_delay = -1"), "politeness.download_delay"),
        (lambda t: t.replace("[politeness]\n", "[politeness]\nmax_errors = 0\n"), "politeness.max_errors"),
        (lambda t: t.replace("[politeness]\n", "[politeness]\nmax_crawl_delay = 0\n"), "politeness.max_crawl_delay"),
        (lambda t: t.replace("[politeness]\n", "[politeness]\nmax_retry_after = 'soon'\n"), "politeness.max_retry_after"),
        (lambda t: t.replace('base_url = "http://127.0.0.1:8601/"', 'base_url = "ftp://x"'), "base_url"),
    ],
)
def test_malformed_seed_error_names_the_file_and_the_field(tmp_path, change, field):
    path = tmp_path / "qhzgh.toml"
    path.write_text(change((SEEDS / "qhzgh.toml").read_text(encoding="utf-8")), encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_seed_file(path)
    message = str(err.value)
    assert str(path) in message and f"'{field}'" in message
    assert "\n" not in message


def test_a_sitemap_off_the_allowed_hosts_is_refused_naming_it(tmp_path):
    path = tmp_path / "qhzgh.toml"
    text = (SEEDS / "qhzgh.toml").read_text(encoding="utf-8")
    path.write_text(
        text.replace('sitemaps = ["/robots.txt"]', 'sitemaps = ["http://elsewhere.cn/s.xml"]'),
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match=r"sitemap http://elsewhere.cn/s.xml is not on an allowed"):
        load_seed_file(path)


def test_seed_id_must_match_the_file_name(tmp_path):
    shutil.copy(SEEDS / "qhzgh.toml", tmp_path / "other.toml")
    with pytest.raises(ConfigError, match="must equal the file name"):
        load_seed_file(tmp_path / "other.toml")


def test_unknown_site_lists_the_known_ones():
    with pytest.raises(ConfigError, match=r"unknown site 'nosuch' \(known sites in .*: bcrb, qhzgh"):
        select_seeds(SEEDS, ["nosuch"])


def test_served_at_moves_requests_to_the_replica_port_and_keeps_patterns():
    seed = load_seeds(SEEDS)["bcrb"]
    moved = seed.served_at("http://127.0.0.1:45678")
    assert moved.start_urls == ["http://127.0.0.1:45678/"]
    assert moved.allowed_hosts == ["127.0.0.1:45678"]
    assert moved.is_allowed("http://127.0.0.1:45678/html/2021-04/30/node_1.htm")
    assert not moved.is_allowed("http://www.bcxww.com/")
    assert moved.is_article("http://127.0.0.1:45678/html/2021-04/30/content_47305.htm")


def test_politeness_limits_default_to_a_minute_of_crawl_delay_five_of_retry_after_and_20_errors():
    p = Politeness()
    assert (p.max_crawl_delay, p.max_retry_after, p.max_errors) == (60.0, 300.0, 20)
