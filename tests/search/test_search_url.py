"""``ATRIUM_SEARCH_URL`` picks the backend by scheme (STYLE.md item 4)."""

from __future__ import annotations

from pathlib import Path

import pytest

from portal.settings import ConfigError, Settings
from search.backends.embedded import EmbeddedIndex
from search.backends.meilisearch import MeilisearchIndex
from search.index import SearchUnavailable, meilisearch_address, open_index


def _settings(tmp_path: Path, url: str) -> Settings:
    return Settings.from_env(
        {"ATRIUM_DATA_DIR": str(tmp_path), "ATRIUM_SECRET_KEY": "k" * 40, "ATRIUM_SEARCH_URL": url}
    )


@pytest.mark.parametrize(
    "url",
    [
        "meilisearch://:masterKey@search.internal:7700/atrium",
        "meilisearchs://search.example.com/atrium",
        "http://127.0.0.1:7700",
        "https://search.example.com",
    ],
)
def test_meilisearch_urls_are_accepted(tmp_path: Path, url: str) -> None:
    assert _settings(tmp_path, url).search_url == url


@pytest.mark.parametrize("url", ["meilisearch:///atrium", "elastic://host:9200", "embedded://"])
def test_bad_search_urls_name_the_variable(tmp_path: Path, url: str) -> None:
    with pytest.raises(ConfigError, match="ATRIUM_SEARCH_URL"):
        _settings(tmp_path, url)


def test_addresses_and_backends() -> None:
    assert meilisearch_address("meilisearch://:s%40cret@host:7700/idx") == (
        "http://host:7700",
        "s@cret",
        "idx",
    )
    assert meilisearch_address("meilisearchs://host") == ("https://host", None, "atrium")
    assert meilisearch_address("http://[::1]:7700") == ("http://[::1]:7700", None, "atrium")
    assert isinstance(open_index("meilisearch://host:7700"), MeilisearchIndex)
    with pytest.raises(SearchUnavailable):
        open_index("solr://host")


async def test_the_default_is_embedded_in_the_data_dir(tmp_path: Path) -> None:
    settings = _settings(tmp_path, "")
    index = open_index(settings.search_url)
    try:
        assert isinstance(index, EmbeddedIndex)
        assert index.path == settings.data_dir / "search"
    finally:
        await index.close()
