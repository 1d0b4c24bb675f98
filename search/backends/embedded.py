"""The embedded search backend: a tantivy index in the data dir, no server needed.

tantivy allows one writer per index at a time, so this process writes and other processes only
read (the indexer that writes runs in one place). Ids are raw-text fields, because deleting by term
on an unsigned field silently deletes nothing (STACK-NOTES trap 3). The audience is a multi-valued
raw-text field, and every query must match at least one of the caller's tokens.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import tantivy

from search.index import SearchDocument, SearchHit, SearchUnavailable

WRITER_HEAP_BYTES = 50_000_000


def _schema() -> Any:
    builder = tantivy.SchemaBuilder()
    builder.add_text_field("id", stored=True, tokenizer_name="raw")
    builder.add_text_field("kind", stored=True, tokenizer_name="raw")
    builder.add_text_field("title", stored=True)
    builder.add_text_field("body", stored=False)
    builder.add_text_field("url", stored=True, index_option="basic", tokenizer_name="raw")
    builder.add_text_field("audience", stored=False, tokenizer_name="raw")
    return builder.build()


class EmbeddedIndex:
    def __init__(self, path: str) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._schema = _schema()
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            self._index = tantivy.Index(self._schema, path=str(self.path))
        except (OSError, ValueError) as exc:
            raise SearchUnavailable(f"cannot open the search index at {self.path}: {exc}") from exc

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

    async def upsert(self, documents: list[SearchDocument]) -> None:
        await asyncio.to_thread(self._upsert, documents)

    def _upsert(self, documents: list[SearchDocument]) -> None:
        with self._lock:
            writer = self._index.writer(WRITER_HEAP_BYTES, 1)
            for doc in documents:
                writer.delete_documents_by_term("id", doc.id)
                writer.add_document(
                    tantivy.Document(
                        id=doc.id,
                        kind=doc.kind,
                        title=doc.title,
                        body=doc.body,
                        url=doc.url,
                        audience=sorted(doc.audience),
                    )
                )
            writer.commit()
            writer.wait_merging_threads()
        self._index.reload()

    async def delete(self, ids: list[str]) -> None:
        await asyncio.to_thread(self._delete, ids)

    def _delete(self, ids: list[str]) -> None:
        with self._lock:
            writer = self._index.writer(WRITER_HEAP_BYTES, 1)
            for doc_id in ids:
                writer.delete_documents_by_term("id", doc_id)
            writer.commit()
            writer.wait_merging_threads()
        self._index.reload()

    async def search(
        self, query: str, tokens: frozenset[str], *, limit: int = 20
    ) -> list[SearchHit]:
        return await asyncio.to_thread(self._search, query, tokens, limit)

    def _search(self, query: str, tokens: frozenset[str], limit: int) -> list[SearchHit]:
        if not tokens or not query.strip():
            return []
        text_query, _errors = self._index.parse_query_lenient(query, ["title", "body"])
        audience = tantivy.Query.boolean_query(
            [
                (tantivy.Occur.Should, tantivy.Query.term_query(self._schema, "audience", t))
                for t in sorted(tokens)
            ]
        )
        combined = tantivy.Query.boolean_query(
            [(tantivy.Occur.Must, text_query), (tantivy.Occur.Must, audience)]
        )
        searcher = self._index.searcher()
        hits = []
        for score, address in searcher.search(combined, limit).hits:
            doc = searcher.doc(address)
            hits.append(
                SearchHit(
                    id=doc["id"][0],
                    kind=doc["kind"][0],
                    title=doc["title"][0],
                    url=doc["url"][0],
                    score=float(score),
                )
            )
        return hits

    async def close(self) -> None:
        return None
