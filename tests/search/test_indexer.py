"""The indexer follows the event log: it re-reads what each event names, keeps a checkpoint,
does not skip ids that commit out of order, and repeats nothing harmful; reconciliation finds
and repairs every kind of drift; attachments are found by their text."""

from __future__ import annotations

import asyncio
import io
import zipfile

from sqlalchemy import select

from domain.db import Database, utcnow
from domain.events import (
    ConsumerCheckpoint,
    Event,
    EventAudience,
    PostChanged,
    PostDeleted,
    record_event,
)
from domain.posts.models import Post
from domain.posts.storage import AttachmentStore
from search.backends.embedded import EmbeddedIndex
from search.extract import extract_text
from search.index import SearchDocument, SearchQuery
from search.indexer import Indexer, load_checkpoint
from search.reconcile import reconcile
from tests.search.company import build_company


async def _ids(index: EmbeddedIndex, text: str, tokens: frozenset[str]) -> set[str]:
    return {h.id for h in (await index.search(SearchQuery(text, tokens, limit=100))).hits}


async def test_events_rewrite_documents_and_move_the_checkpoint(db: Database, tmp_path) -> None:
    company = await build_company(db)
    index = EmbeddedIndex(tmp_path / "index")
    indexer = Indexer(db, index)
    try:
        await indexer.prepare()  # an empty index is filled from the database
        staff = company.principals["outsider"].tokens
        post_id = company.ids["post_pub"]
        assert f"post:{post_id}" in await _ids(index, "zephyr pub", staff)
        async with db.transaction() as s:
            post = await s.get(Post, post_id)
            assert post is not None
            post.body = post.body_html = "Walrus sighting at the harbour"
            await record_event(s, PostChanged(post_id, ("body",)), ["role:employee"], actor_id=None)
        assert await indexer.step() == 1
        comment = f"comment:{company.ids['comment_pub']}"  # titled after its post
        assert await _ids(index, "walrus", staff) == {f"post:{post_id}", comment}
        async with db.session() as s:
            checkpoint = await load_checkpoint(s)
        assert checkpoint is not None and checkpoint.last >= 1
        assert await indexer.step() == 0  # nothing new: nothing done
        async with db.transaction() as s:
            post = await s.get(Post, post_id)
            assert post is not None
            post.deleted_at = utcnow()
            await record_event(s, PostDeleted(post_id), ["role:employee"], actor_id=None)
        await indexer.step()
        assert await _ids(index, "walrus", staff) == set()  # its comment went with it
    finally:
        await index.close()


async def test_ids_committed_out_of_order_are_not_skipped(db: Database, tmp_path) -> None:
    """Event 7 commits after event 10 (as PostgreSQL may do): the indexer, having passed 10,
    still handles 7 when it appears."""
    company = await build_company(db)
    index = EmbeddedIndex(tmp_path / "index")
    indexer = Indexer(db, index)
    post_id = company.ids["post_pub"]
    staff = company.principals["outsider"].tokens

    async def event_with_id(event_id: int, body: str) -> None:
        async with db.transaction() as s:
            post = await s.get(Post, post_id)
            assert post is not None
            post.body = post.body_html = body
            s.add(
                Event(
                    id=event_id,
                    kind="post.changed",
                    payload={"post_id": post_id, "fields": ["body"]},
                    created_at=utcnow(),
                )
            )
            await s.flush()
            s.add(EventAudience(token="role:employee", event_id=event_id))

    try:
        await indexer.prepare()
        await event_with_id(10, "Narwhal")
        await indexer.step()
        async with db.session() as s:
            checkpoint = await load_checkpoint(s)
        assert checkpoint is not None and checkpoint.last == 10
        assert 7 in checkpoint.gaps
        await event_with_id(7, "Octopus")  # the late commit
        assert await indexer.step() == 1
        assert f"post:{post_id}" in await _ids(index, "octopus", staff)
        async with db.session() as s:
            checkpoint = await load_checkpoint(s)
        assert checkpoint is not None and 7 not in checkpoint.gaps and checkpoint.last == 10
    finally:
        await index.close()


async def test_a_wake_up_as_the_indexer_stops_does_not_keep_it_running(
    db: Database, tmp_path
) -> None:
    # Python 3.11's wait_for dropped the shutdown's cancellation when a wake-up arrived in the
    # same loop turn, and the indexer ran on.
    index = EmbeddedIndex(tmp_path / "index")
    indexer = Indexer(db, index, poll_seconds=30)
    running = asyncio.create_task(indexer.run())
    try:
        async with asyncio.timeout(30):
            await indexer.ready.wait()
        await asyncio.sleep(0.1)  # past its first pass, waiting for a wake-up
        indexer.wake()
        running.cancel()
        async with asyncio.timeout(5):
            await asyncio.gather(running, return_exceptions=True)
        assert running.cancelled()
    finally:
        running.cancel()
        await index.close()


async def test_reconciliation_finds_and_repairs_every_drift(db: Database, tmp_path) -> None:
    company = await build_company(db)
    index = EmbeddedIndex(tmp_path / "index")
    try:
        first = await reconcile(db, index)
        assert first.missing == len(company.markers) and first.stale == first.extra == 0
        assert (await reconcile(db, index, repair=False)).changed == 0
        stale = f"post:{company.ids['post_pub']}"
        gone = f"contact:{company.ids['contact_cb']}"
        await index.upsert([SearchDocument(stale, "post", "Stale copy", audience=frozenset({"x"}))])
        await index.delete([gone])
        await index.upsert(
            [SearchDocument("post:999999", "post", "Ghost", audience=frozenset({"x"}))]
        )
        drift = await reconcile(db, index, repair=False)
        assert (drift.missing, drift.stale, drift.extra) == (1, 1, 1)
        repaired = await reconcile(db, index)
        assert (repaired.missing, repaired.stale, repaired.extra) == (1, 1, 1)
        assert (await reconcile(db, index, repair=False)).changed == 0
        assert await _ids(index, "ghost", frozenset({"x"})) == set()
    finally:
        await index.close()


async def test_checkpoint_row_is_the_consumers_own(db: Database, tmp_path) -> None:
    await build_company(db)
    index = EmbeddedIndex(tmp_path / "index")
    try:
        indexer = Indexer(db, index)
        await indexer.prepare()
        async with db.session() as s:
            names = set((await s.scalars(select(ConsumerCheckpoint.name))).all())
        assert names == {"search"}
    finally:
        await index.close()


def _docx(text: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr(
            "word/document.xml",
            '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
            f"<w:body><w:p><w:r><w:t>{text}</w:t></w:r></w:p></w:body></w:document>",
        )
    return buffer.getvalue()


def _pdf(text: str) -> bytes:
    from pypdf import PdfWriter
    from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

    writer = PdfWriter()
    page = writer.add_blank_page(300, 200)
    font = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/Type1"),
            NameObject("/BaseFont"): NameObject("/Helvetica"),
        }
    )
    page[NameObject("/Resources")] = DictionaryObject(
        {NameObject("/Font"): DictionaryObject({NameObject("/F1"): writer._add_object(font)})}
    )
    stream = DecodedStreamObject()
    stream.set_data(f"BT /F1 12 Tf 20 100 Td ({text}) Tj ET".encode())
    page[NameObject("/Contents")] = writer._add_object(stream)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_text_is_extracted_from_pdf_docx_and_plain_files() -> None:
    assert "Quarterly tonnage" in extract_text(
        _pdf("Quarterly tonnage"), "application/pdf", "a.pdf"
    )
    docx = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    assert extract_text(_docx("Forklift schedule"), docx, "b.docx") == "Forklift schedule"
    assert extract_text("naïve café\x00".encode(), "text/plain", "c.txt") == "naïve café "
    # Broken files and other types give no text, never an error.
    assert extract_text(b"%PDF-1.4 garbage", "application/pdf", "d.pdf") == ""
    assert extract_text(b"PK\x03\x04 broken", docx, "e.docx") == ""
    assert extract_text(b"\x89PNG", "image/png", "f.png") == ""


async def test_attachments_are_found_by_their_text(db: Database, tmp_path) -> None:
    files = AttachmentStore(tmp_path)
    company = await build_company(db, files)
    index = EmbeddedIndex(tmp_path / "index")
    try:
        await reconcile(db, index, files=files)
        member = company.principals["employee"].tokens
        marker = company.markers[f"attachment:{company.ids['attachment_priv']}"]
        hits = (await index.search(SearchQuery("notes " + marker, member))).hits
        assert [h.id for h in hits] == [f"attachment:{company.ids['attachment_priv']}"]
        assert f"<mark>{marker}</mark>" in hits[0].snippet_html
    finally:
        await index.close()
