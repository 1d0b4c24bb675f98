"""What search costs, at 100k and 1M documents, against the raw engine in the same run.

For each size, one generated corpus (``bench/gen_search.py``) is bulk-imported into tantivy with
the raw engine API (prepared field dicts -> Document -> add -> commit): that is the *raw import
rate*. Then typical queries — a typo ("projct alpa"), a prefix while typing ("jans"), two whole
words, a common word with facets, a kind filter — run both ways, interleaved:

- *app*: ``SearchIndex.search`` as the routes call it — query analysis, the audience-filtered
  boolean query, the search, stored fields, snippets and highlights, the thread hop;
- *raw*: the same tantivy query object, prebuilt, searched, its hits' stored documents read (and
  the facet aggregation, for the query with facets);
- *raw + snippets*: raw plus tantivy's own snippet generator over title and body — what the
  engine itself offers for highlighting (empty for typo and prefix matches, which the app's
  snippets explain too).

p50 and p95 of each are printed with their ratio. Then the *reindex* path: posts written into a
SQLite database are rebuilt into a new index by ``search.rebuild.build_embedded`` (database reads,
documents, fingerprints, tantivy), whose rate is compared with the raw import rate.

Usage: ``.venv/bin/python bench/bench_search.py [sizes] [reindex sizes]``, e.g. ``100000,1000000
100000`` (the default).
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import tantivy

from bench.gen_search import Corpus, fill_posts
from domain.db import Database
from portal.migrate import upgrade_async
from search.backends.embedded import EmbeddedIndex, to_tantivy
from search.index import SearchQuery
from search.rebuild import build_embedded
from search.text import words_of

TOKENS = frozenset({"user:7", "role:employee", "group:3", "group:17", "group:250"})
QUERIES: list[tuple[str, dict[str, Any]]] = [
    ("projct alpa", {}),
    ("jans", {}),
    ("warehouse budget", {}),
    ("meeting", {"facets": True}),
    ("invoice", {"kinds": ("invoice",)}),
]
RUNS = 200


def _fields(doc: Any) -> dict[str, Any]:
    """The field dict a client hands the engine (prepared outside the timed part)."""
    document = to_tantivy(doc)
    return {name: document.get_all(name) for name in document.to_dict()}


def raw_import(path: Path, corpus: Corpus, n: int) -> float:
    """Documents per second through tantivy's own API, preparation excluded."""
    index = EmbeddedIndex(path, bulk=True)
    writer = index._writer_locked()
    timed = 0.0
    batch: list[dict[str, Any]] = []

    def flush() -> float:
        started = time.perf_counter()
        for fields in batch:
            writer.add_document(tantivy.Document(**fields))
        return time.perf_counter() - started

    for doc in corpus.documents(n):
        batch.append(_fields(doc))
        if len(batch) == 10_000:
            timed += flush()
            batch.clear()
    timed += flush()
    started = time.perf_counter()
    index.commit()
    timed += time.perf_counter() - started
    index.release_writer()
    return n / timed


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[int(len(ordered) * 0.95) - 1]


async def bench_queries(path: Path) -> list[tuple[str, float, float, float, float, float, float]]:
    index = EmbeddedIndex(path)
    searcher = index._searcher()
    rows = []
    for text, options in QUERIES:
        query = SearchQuery(text, TOKENS, limit=20, **options)
        engine_query = index.engine_query(query, words_of(text))

        facets = index._facet_spec() if query.facets else None

        def raw(engine_query: Any = engine_query, facets: Any = facets) -> None:
            found = searcher.search(engine_query, 20, weight_by_field="recency")
            for _, address in found.hits:
                searcher.doc(address)
            if facets is not None:
                searcher.aggregate(engine_query, facets)

        def raw_snippets(engine_query: Any = engine_query, facets: Any = facets) -> None:
            """The raw query plus the engine's own snippets of title and body."""
            raw(engine_query, facets)
            found = searcher.search(engine_query, 20, weight_by_field="recency")
            for field in ("title", "body"):
                generator = tantivy.SnippetGenerator.create(
                    searcher, engine_query, index._schema, field
                )
                for _, address in found.hits:
                    generator.snippet_from_doc(searcher.doc(address)).to_html()

        app_times, raw_times, snippet_times = [], [], []
        for _ in range(20):  # warm up all three
            raw()
            raw_snippets()
            await index.search(query)
        for _ in range(RUNS):
            started = time.perf_counter()
            await index.search(query)
            app_times.append(time.perf_counter() - started)
            started = time.perf_counter()
            raw()
            raw_times.append(time.perf_counter() - started)
            started = time.perf_counter()
            raw_snippets()
            snippet_times.append(time.perf_counter() - started)
        rows.append(
            (
                text + (" +" + "+".join(options) if options else ""),
                *percentiles(app_times),
                *percentiles(raw_times),
                *percentiles(snippet_times),
            )
        )
    await index.close()
    return rows


async def bench_reindex(tmp: Path, n: int) -> float:
    url = f"sqlite+aiosqlite:///{tmp / 'bench.sqlite3'}"
    await upgrade_async(url)
    db = Database(url)
    try:
        await fill_posts(db, n)
        started = time.perf_counter()
        count = await build_embedded(db, tmp / "rebuilt")
        return count / (time.perf_counter() - started)
    finally:
        await db.dispose()


async def main(sizes: list[int], reindex_sizes: list[int]) -> None:
    corpus = Corpus()
    for n in sizes:
        with tempfile.TemporaryDirectory(prefix="atrium-bench-search-") as tmp:
            started = time.perf_counter()
            rate = raw_import(Path(tmp) / "index", corpus, n)
            print(
                f"\n{n:,} documents: raw tantivy import {rate:,.0f} docs/s "
                f"(corpus and import {time.perf_counter() - started:.0f} s)"
            )
            print(
                f"  {'query':<26}{'app p50':>9}{'app p95':>9}{'raw p50':>9}{'raw p95':>9}"
                f"{'p50 ×':>7}{'p95 ×':>7}{'+snip p50':>11}{'+snip p95':>11}"
                f"{'p50 ×':>7}{'p95 ×':>7}   (ms)"
            )
            for label, a50, a95, r50, r95, s50, s95 in await bench_queries(Path(tmp) / "index"):
                print(
                    f"  {label:<26}{a50 * 1e3:>9.2f}{a95 * 1e3:>9.2f}{r50 * 1e3:>9.2f}"
                    f"{r95 * 1e3:>9.2f}{a50 / r50:>7.2f}{a95 / r95:>7.2f}"
                    f"{s50 * 1e3:>11.2f}{s95 * 1e3:>11.2f}{a50 / s50:>7.2f}{a95 / s95:>7.2f}"
                )
            if n in reindex_sizes:
                reindex_rate = await bench_reindex(Path(tmp), n)
                print(
                    f"  reindex from the database: {reindex_rate:,.0f} docs/s = "
                    f"{reindex_rate / rate:.2f} × the raw import rate"
                )


if __name__ == "__main__":
    size_arg = sys.argv[1] if len(sys.argv) > 1 else "100000,1000000"
    reindex_arg = sys.argv[2] if len(sys.argv) > 2 else "100000"
    asyncio.run(
        main([int(s) for s in size_arg.split(",")], [int(s) for s in reindex_arg.split(",")])
    )
