"""The embedded search backend: a tantivy index in the data dir, no server needed.

One process writes: the first to write takes tantivy's writer lock and keeps it until it closes
(the indexer inside ``atrium serve``); every other process only reads, reloading the index at most
``RELOAD_SECONDS`` after a commit. A write from a process that does not hold the lock fails with
``SearchUnavailable`` rather than waiting.

Traps handled (STACK-NOTES trap 3): ids are raw-text fields, since deleting by term on an unsigned
field silently deletes nothing; prefix and fuzzy queries are built as query objects, never through
the query parser; fuzzy hits all score 1.0, so each word is a disjunction of constant-score
clauses — exact beats prefix beats typo, title beats body — and recency then orders equal scores
through a small weight (``weight_by_field``); snippets come from ``search.text``, since tantivy's
are empty for fuzzy and prefix matches.

The audience is a multi-valued raw field, and every query holds a term-set clause on it with the
caller's tokens: the engine never returns, counts or facets a document the caller may not see.

``atrium reindex`` builds a second index beside this one and hands it over (``swap_in``): the
directory is renamed into place while the writer lock is held, and readers in other processes see
the directory change and reopen it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import threading
import time
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any

import tantivy

from search.index import (
    FACETS,
    FacetCount,
    IndexStats,
    Ref,
    SearchDocument,
    SearchHit,
    SearchQuery,
    SearchResult,
    SearchUnavailable,
)
from search.text import ANALYZER_NAME, Marker, Word, make_analyzer, words_of

WRITER_HEAP_BYTES = 64_000_000
RELOAD_SECONDS = 0.2
FACET_SIZE = 10
SEPARATOR = "\x1f"  # between a keyword's id and its label in a facet value
# Recency weight: the date mapped onto [0, 0.01]; tantivy multiplies a score by log2(2 + w), at
# most 0.7 %, less than any gap between two different match scores.
EPOCH = datetime(2000, 1, 1, tzinfo=UTC).timestamp()
CENTURY = 100 * 365.25 * 86400

# Per word: what a match is worth, by how it matched and where.
EXACT_TITLE, EXACT_BODY = 10.0, 6.0
PREFIX_TITLE, PREFIX_BODY = 5.0, 3.0
TYPO_TITLE, TYPO_BODY = 2.0, 1.0

Q = tantivy.Query
MUST = tantivy.Occur.Must


def schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_text_field("id", stored=True, tokenizer_name="raw")
    builder.add_text_field("kind", stored=True, fast=True, tokenizer_name="raw")
    builder.add_text_field("title", stored=True, tokenizer_name=ANALYZER_NAME)
    builder.add_text_field("body", stored=True, tokenizer_name=ANALYZER_NAME)
    builder.add_text_field("url", stored=True, tokenizer_name="raw", index_option="basic")
    builder.add_text_field("audience", tokenizer_name="raw", index_option="basic")
    for name in FACETS[1:]:
        builder.add_text_field(name, tokenizer_name="raw", index_option="basic")
        builder.add_text_field(f"{name}_facet", stored=True, fast=True, tokenizer_name="raw")
    builder.add_integer_field("date", stored=True, indexed=True, fast=True)
    builder.add_float_field("recency", fast=True)
    builder.add_text_field("fp", stored=True, tokenizer_name="raw", index_option="basic")
    return builder.build()


def _recency(when: datetime | None) -> float:
    if when is None:
        return 0.0
    return max(0.0, min(1.0, (when.timestamp() - EPOCH) / CENTURY)) / 100


def to_tantivy(doc: SearchDocument) -> tantivy.Document:
    fields: dict[str, Any] = {
        "id": doc.id,
        "kind": doc.kind,
        "title": doc.title,
        "body": doc.body,
        "url": doc.url,
        "audience": sorted(doc.audience),
        "recency": _recency(doc.date),
        "fp": doc.fingerprint(),
    }
    for name, ref in (("author", doc.author), ("group", doc.group), ("account", doc.account)):
        if ref is not None:
            fields[name] = str(ref.id)
            fields[f"{name}_facet"] = f"{ref.id}{SEPARATOR}{ref.label}"
    if doc.date is not None:
        fields["date"] = int(doc.date.timestamp())
    return tantivy.Document(**fields)


def _day_start(day: date) -> int:
    return int(datetime.combine(day, dtime.min, UTC).timestamp())


class EmbeddedIndex:
    def __init__(self, path: str | Path, *, bulk: bool = False) -> None:
        self.path = Path(path)
        self._schema = schema()
        self._lock = threading.RLock()
        self._writer: Any = None
        self._bulk = bulk
        self._reloaded_at = 0.0
        self._inode = 0
        self._open()

    # -- opening, reloading, the writer -----------------------------------------------------------

    def _open(self) -> None:
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            self._index = tantivy.Index(self._schema, path=str(self.path))
            self._index.register_tokenizer(ANALYZER_NAME, make_analyzer())
            self._inode = self.path.stat().st_ino
        except (OSError, ValueError) as exc:
            raise SearchUnavailable(f"cannot open the search index at {self.path}: {exc}") from exc
        self._reloaded_at = time.monotonic()

    def _searcher(self) -> Any:
        now = time.monotonic()
        if now - self._reloaded_at >= RELOAD_SECONDS:
            self._reloaded_at = now
            with contextlib.suppress(OSError, ValueError):  # mid-swap: keep the last good view
                if self._writer is None and self.path.stat().st_ino != self._inode:
                    with self._lock:
                        self._open()
                else:
                    self._index.reload()
        return self._index.searcher()

    def _writer_locked(self) -> Any:
        if self._writer is None:
            try:
                if self._bulk:
                    self._writer = self._index.writer(4 * WRITER_HEAP_BYTES, 2)
                else:
                    self._writer = self._index.writer(WRITER_HEAP_BYTES, 1)
            except ValueError as exc:
                raise SearchUnavailable(
                    f"another process is writing the search index at {self.path}"
                ) from exc
        return self._writer

    def _commit_locked(self) -> None:
        self._writer.commit()
        self._index.reload()
        self._reloaded_at = time.monotonic()

    async def acquire_writer(self) -> None:
        """Become this index's one writer, or raise ``SearchUnavailable`` if another process is."""

        def run() -> None:
            with self._lock:
                self._writer_locked()

        await asyncio.to_thread(run)

    def release_writer(self) -> None:
        with self._lock:
            if self._writer is not None:
                with contextlib.suppress(ValueError):
                    self._writer.wait_merging_threads()
                self._writer = None

    async def ping(self) -> None:
        await asyncio.to_thread(self._ping)

    def _ping(self) -> None:
        try:
            # Reloading reads the index's files again: a searcher alone keeps answering from
            # memory after the directory was deleted or its meta.json damaged.
            self._index.reload()
            self._index.searcher().num_docs  # noqa: B018 - touching the searcher reads the index
        except Exception as exc:
            raise SearchUnavailable(str(exc)) from exc

    # -- writes -------------------------------------------------------------------------------

    async def upsert(self, documents: Sequence[SearchDocument]) -> None:
        if documents:
            await asyncio.to_thread(self._write, documents, ())

    async def delete(self, ids: Sequence[str]) -> None:
        if ids:
            await asyncio.to_thread(self._write, (), ids)

    async def write(self, documents: Sequence[SearchDocument], deletes: Sequence[str]) -> None:
        if documents or deletes:
            await asyncio.to_thread(self._write, documents, deletes)

    def _write(self, documents: Iterable[SearchDocument], ids: Iterable[str]) -> None:
        with self._lock:
            writer = self._writer_locked()
            try:
                for doc_id in ids:
                    writer.delete_documents_by_term("id", doc_id)
                for doc in documents:
                    writer.delete_documents_by_term("id", doc.id)
                    writer.add_document(to_tantivy(doc))
                self._commit_locked()
            except ValueError as exc:
                writer.rollback()
                raise SearchUnavailable(f"cannot write the search index: {exc}") from exc

    def add_fresh(self, documents: Iterable[SearchDocument]) -> int:
        """Add documents to an index being built (no earlier copies to delete); no commit."""
        with self._lock:
            writer = self._writer_locked()
            count = 0
            for doc in documents:
                writer.add_document(to_tantivy(doc))
                count += 1
            return count

    def commit(self) -> None:
        with self._lock:
            self._writer_locked()
            self._commit_locked()

    async def clear(self) -> None:
        def run() -> None:
            with self._lock:
                self._writer_locked().delete_all_documents()
                self._commit_locked()

        await asyncio.to_thread(run)

    def swap_in(self, built: Path) -> None:
        """Put the index built at ``built`` in this one's place, keeping the writer lock while the
        directories change names, then reopen. The old index is removed."""
        with self._lock:
            self._writer_locked()
            old = self.path.with_name(f"{self.path.name}.old-{os.getpid()}-{time.time_ns()}")
            os.rename(self.path, old)
            os.rename(built, self.path)
            self._writer = None  # its lock file went with the old directory
            self._open()
            shutil.rmtree(old, ignore_errors=True)

    # -- reads --------------------------------------------------------------------------------

    async def search(self, query: SearchQuery) -> SearchResult:
        return await asyncio.to_thread(self.search_now, query.clamped())

    def search_now(self, query: SearchQuery) -> SearchResult:
        words = words_of(query.text)
        engine_query = self.engine_query(query, words)
        if engine_query is None:
            return SearchResult([], 0)
        searcher = self._searcher()
        if words:
            found = searcher.search(
                engine_query,
                query.limit,
                offset=query.offset,
                weight_by_field="recency",
            )
        else:  # filters only: the newest first
            found = searcher.search(
                engine_query, query.limit, offset=query.offset, order_by_field="date"
            )
        marker = Marker(words)
        docs = [(score, searcher.doc(address)) for score, address in found.hits]
        in_body = self._body_matches(searcher, words, [_first(d, "id") for _, d in docs])
        hits = [self._hit(score, doc, marker, in_body) for score, doc in docs]
        facets = self._facets(searcher, engine_query) if query.facets else {}
        return SearchResult(hits, found.count or 0, facets)

    def engine_query(self, query: SearchQuery, words: Sequence[Word]) -> Any:
        """The whole query as tantivy runs it; None when nothing can match."""
        filters = self._filters(query)
        if not query.tokens or (not words and len(filters) == 1):
            return None  # nobody to see anything, or nothing asked
        clauses = [(MUST, self._word(w)) for w in words] or [(MUST, Q.all_query())]
        return Q.boolean_query(clauses + [(MUST, Q.const_score_query(f, 0.0)) for f in filters])

    def _word(self, word: Word, fields: tuple[str, ...] = ("title", "body")) -> Any:
        s, text = self._schema, word.text
        scores = {
            "title": (EXACT_TITLE, PREFIX_TITLE, TYPO_TITLE),
            "body": (EXACT_BODY, PREFIX_BODY, TYPO_BODY),
        }
        options = []
        for field in fields:
            exact, prefix, typo = scores[field]
            options.append(Q.const_score_query(Q.term_query(s, field, text), exact))
            if word.prefix:
                fuzzy = Q.fuzzy_term_query(s, field, text, 0, True, True)
                options.append(Q.const_score_query(fuzzy, prefix))
            if word.distance:
                fuzzy = Q.fuzzy_term_query(s, field, text, word.distance, True, word.prefix)
                options.append(Q.const_score_query(fuzzy, typo))
        return Q.disjunction_max_query(options)

    def _filters(self, query: SearchQuery) -> list[Any]:
        s = self._schema
        filters = [Q.term_set_query(s, "audience", sorted(query.tokens))]
        if query.kinds:
            filters.append(Q.term_set_query(s, "kind", list(query.kinds)))
        for name in ("author", "group", "account"):
            value = getattr(query, name)
            if value is not None:
                filters.append(Q.term_query(s, name, str(value)))
        if query.date_from is not None or query.date_to is not None:
            low = _day_start(query.date_from) if query.date_from else None
            high = _day_start(query.date_to + timedelta(days=1)) if query.date_to else None
            filters.append(
                Q.range_query(s, "date", tantivy.FieldType.Integer, low, high, True, False)
            )
        return filters

    def _body_matches(self, searcher: Any, words: Sequence[Word], ids: list[str]) -> set[str]:
        """Which of these documents match the words in their body: only those bodies are
        scanned for a snippet (scanning every body word for typos is the costly part)."""
        if not words or not ids:
            return set()
        s = self._schema
        any_word = Q.boolean_query(
            [(tantivy.Occur.Should, self._word(w, fields=("body",))) for w in words]
        )
        query = Q.boolean_query([(MUST, Q.term_set_query(s, "id", ids)), (MUST, any_word)])
        found = searcher.search(query, len(ids), count=False)
        return {_first(searcher.doc(a), "id") for _, a in found.hits}

    def _hit(self, score: Any, doc: Any, marker: Marker, in_body: set[str]) -> SearchHit:
        title, body = _first(doc, "title"), _first(doc, "body")
        doc_id = _first(doc, "id")
        if not body:
            snippet = ""
        elif doc_id in in_body:
            snippet = marker.snippet(body)
        else:
            snippet = Marker(()).snippet(body)  # the title matched: the body's beginning
        stamp = _first(doc, "date", None)
        author = _first(doc, "author_facet")
        return SearchHit(
            id=doc_id,
            kind=_first(doc, "kind"),
            title=title,
            url=_first(doc, "url"),
            score=float(score),
            title_html=marker.title(title),
            snippet_html=snippet,
            date=datetime.fromtimestamp(stamp, UTC) if stamp is not None else None,
            author=author.split(SEPARATOR, 1)[1] if SEPARATOR in author else "",
        )

    def _facet_spec(self) -> dict[str, Any]:
        return {
            name: {
                "terms": {
                    "field": name if name == "kind" else f"{name}_facet",
                    "size": FACET_SIZE,
                }
            }
            for name in FACETS
        }

    def _facets(self, searcher: Any, engine_query: Any) -> dict[str, list[FacetCount]]:
        result = searcher.aggregate(engine_query, self._facet_spec())
        facets: dict[str, list[FacetCount]] = {}
        for name in FACETS:
            counts = []
            for bucket in result.get(name, {}).get("buckets", []):
                value, _, label = str(bucket["key"]).partition(SEPARATOR)
                counts.append(FacetCount(value, label or value, int(bucket["doc_count"])))
            facets[name] = counts
        return facets

    async def ids_with_token(self, kind: str, token: str) -> list[str]:
        def run() -> list[str]:
            s = self._schema
            query = Q.boolean_query(
                [(MUST, Q.term_query(s, "kind", kind)), (MUST, Q.term_query(s, "audience", token))]
            )
            searcher = self._searcher()
            found = searcher.search(query, max(1, searcher.num_docs), count=False)
            return [_first(searcher.doc(a), "id") for _, a in found.hits]

        return await asyncio.to_thread(run)

    async def fingerprints(self) -> dict[str, str]:
        def run() -> dict[str, str]:
            with self._lock:
                if self._writer is not None:
                    self._index.reload()
            searcher = self._index.searcher()
            found = searcher.search(Q.all_query(), max(1, searcher.num_docs), count=False)
            out = {}
            for _, address in found.hits:
                doc = searcher.doc(address)
                out[_first(doc, "id")] = _first(doc, "fp")
            return out

        return await asyncio.to_thread(run)

    async def stats(self) -> IndexStats:
        def run() -> int:
            return int(self._searcher().num_docs)

        return IndexStats(await asyncio.to_thread(run), "embedded", str(self.path))

    async def close(self) -> None:
        await asyncio.to_thread(self.release_writer)


def _first(doc: Any, name: str, default: Any = "") -> Any:
    values = doc.get_all(name) if hasattr(doc, "get_all") else doc[name]
    return values[0] if values else default


__all__ = ["EmbeddedIndex", "Ref", "schema", "to_tantivy"]
