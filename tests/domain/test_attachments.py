"""Attachments in the domain: the type comes from the bytes, files land under random keys in the
data dir, limits refuse with a reason, only one's own pending uploads can be attached, a file is
seen exactly by its post's audience, and forgotten uploads are pruned."""

from __future__ import annotations

import os
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from domain.access import Principal
from domain.db import Database, utcnow
from domain.errors import NotFound, ValidationFailed
from domain.people.models import UserKind
from domain.posts import filetypes
from domain.posts.attachments import (
    MAX_BYTES,
    MAX_PENDING,
    MAX_PER_POST,
    UploadRefused,
    access_attachment,
    clean_filename,
    do_attach,
    do_discard_upload,
    do_upload,
    pending_uploads,
    prune_uploads,
)
from domain.posts.models import Attachment, Post
from domain.posts.storage import AttachmentStore
from tests.conftest import UserFactory
from tests.domain.post_rows import (
    PDF,
    gif,
    jpeg,
    make_post,
    office,
    opendocument,
    plain_zip,
    png,
    principal_of,
    private_group,
    webp,
)

# -- sniffing -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "name", "content_type", "size"),
    [
        (png(3, 2), "a.png", filetypes.PNG, (3, 2)),
        (jpeg(640, 480), "a.jpg", filetypes.JPEG, (640, 480)),
        (gif(10, 20), "a.gif", filetypes.GIF, (10, 20)),
        (webp(300, 200), "a.webp", filetypes.WEBP, (300, 200)),
        (PDF, "a.pdf", filetypes.PDF, None),
        (office("word"), "a.docx", filetypes.DOCX, None),
        (office("xl"), "a.xlsx", filetypes.XLSX, None),
        (office("ppt"), "a.pptx", filetypes.PPTX, None),
        (opendocument("text"), "a.odt", filetypes.ODT, None),
        (opendocument("spreadsheet"), "a.ods", filetypes.ODS, None),
        (plain_zip(), "a.zip", filetypes.ZIP, None),
        ("Hallo, wereld — café\n".encode(), "a.txt", filetypes.TEXT, None),
        (b"a,b\n1,2\n", "list.CSV", filetypes.CSV, None),
        # The name does not decide: a PNG called .pdf is a PNG, a PDF called .png a PDF.
        (png(), "report.pdf", filetypes.PNG, (3, 2)),
        (PDF, "photo.png", filetypes.PDF, None),
    ],
)
def test_the_type_is_read_from_the_bytes(data, name, content_type, size) -> None:
    sniffed = filetypes.sniff(data, name)
    assert sniffed is not None
    assert sniffed.content_type == content_type
    assert sniffed.is_image is (size is not None)
    if size:
        assert (sniffed.width, sniffed.height) == size


@pytest.mark.parametrize(
    "data",
    [
        b"<!DOCTYPE html><p>hi</p>",
        b"  \n<html><script>alert(1)</script>",
        b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>',
        b'\xef\xbb\xbf<?xml version="1.0"?><svg/>',
        b"<script>alert(1)</script>",
        b"<!-- hi -->",
    ],
)
def test_markup_is_refused(data) -> None:
    with pytest.raises(filetypes.Markup):
        filetypes.sniff(data, "notes.txt")


@pytest.mark.parametrize(
    "data",
    [
        b"MZ\x90\x00\x03\x00\x00\x00",  # a Windows program
        b"\x7fELF\x02\x01\x01",
        bytes(range(256)),
        b"\xff\xfe\x00h\x00i",  # UTF-16
        b"\x89PNG\r\n\x1a\n\x00\x00",  # a PNG without its header: no size to show
        b"RIFF\x00\x00\x00\x00WAVEfmt ",
        b"PK\x03\x04 not really a zip",
    ],
)
def test_other_bytes_are_not_allowed(data) -> None:
    assert filetypes.sniff(data, "x.txt") is None


def test_a_jpeg_size_is_found_after_other_segments() -> None:
    data = jpeg(1024, 768)
    padded = data[:2] + b"\xff\xe1" + (200).to_bytes(2, "big") + b"\x00" * 198 + data[2:]
    sniffed = filetypes.sniff(padded, "x.jpg")
    assert sniffed is not None and (sniffed.width, sniffed.height) == (1024, 768)


# -- names ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("report.pdf", "report.pdf"),
        ("C:\\Users\\jan\\report.pdf", "report.pdf"),
        ("../../etc/passwd", "passwd"),
        ("..", "file"),
        ("", "file"),
        ("  .hidden  ", "hidden"),
        ("evil\u202egpj.exe", "evil gpj.exe"),  # a right-to-left override would show "exe.jpg"
        ("tab\tand\nnewline\x00.txt", "tab and newline .txt"),
        ("<img src=x onerror=alert(1)>.html", "<img src=x onerror=alert(1)>.html"),
    ],
)
def test_file_names_are_cleaned_for_display(raw, clean) -> None:
    assert clean_filename(raw) == clean


def test_a_long_name_keeps_its_extension() -> None:
    name = clean_filename("x" * 400 + ".xlsx")
    assert len(name) == 255
    assert name.endswith("x.xlsx")


# -- uploads --------------------------------------------------------------------------------------


async def upload(
    db: Database,
    principal: Principal,
    store: AttachmentStore,
    data: bytes,
    name: str = "file.png",
    claimed: str = "application/octet-stream",
) -> Attachment:
    async with db.transaction() as session:
        return await do_upload(session, principal, store, name, claimed, data)


async def test_an_upload_is_stored_under_a_random_key_not_its_name(
    db: Database, make_user: UserFactory, tmp_path: Path
) -> None:
    me = await principal_of(db, await make_user())
    store = AttachmentStore(tmp_path)
    attachment = await upload(db, me, store, png(4, 5), "../../holiday.png", "text/html")
    assert attachment.content_type == filetypes.PNG  # not what the client claimed
    assert attachment.filename == "holiday.png"
    assert (attachment.is_image, attachment.width, attachment.height) == (True, 4, 5)
    assert attachment.size == len(png(4, 5))
    assert attachment.post_id is None and attachment.uploader_id == me.user_id
    stored = store.path(attachment.storage_key)
    assert stored.read_bytes() == png(4, 5)
    assert stored.is_relative_to(tmp_path / "attachments")
    assert "holiday" not in attachment.storage_key
    # Nothing but the file itself is left in its folder: no temporary files.
    assert [p.name for p in stored.parent.iterdir()] == [stored.name]
    again = await upload(db, me, store, png(4, 5), "holiday.png")
    assert again.storage_key != attachment.storage_key


@pytest.mark.parametrize(
    ("data", "name", "reason"),
    [
        (b"\x00" * (MAX_BYTES + 1), "big.bin", "too_large"),
        (PDF + b" " * (MAX_BYTES - len(PDF) + 1), "big.pdf", "too_large"),
        (b"", "empty.txt", "empty"),
        (b"MZ\x90\x00", "setup.exe", "type"),
        (b"<html><body>hi</body></html>", "page.html", "type"),
        (b"<svg onload=alert(1)/>", "logo.svg", "type"),
    ],
)
async def test_limits_refuse_with_a_reason_and_store_nothing(
    db: Database, make_user: UserFactory, tmp_path: Path, data, name, reason
) -> None:
    me = await principal_of(db, await make_user())
    store = AttachmentStore(tmp_path)
    with pytest.raises(UploadRefused) as refused:
        await upload(db, me, store, data, name)
    assert refused.value.reason == reason
    assert refused.value.errors["file"]
    assert not (tmp_path / "attachments").exists()
    async with db.session() as session:
        assert (await session.scalars(select(Attachment))).all() == []


async def test_a_file_of_exactly_10_mib_is_accepted(
    db: Database, make_user: UserFactory, tmp_path: Path
) -> None:
    me = await principal_of(db, await make_user())
    data = PDF + b" " * (MAX_BYTES - len(PDF))
    attachment = await upload(db, me, AttachmentStore(tmp_path), data, "big.pdf")
    assert attachment.size == MAX_BYTES


async def test_pending_uploads_per_person_are_limited(
    db: Database, make_user: UserFactory, tmp_path: Path
) -> None:
    me = await principal_of(db, await make_user())
    other = await principal_of(db, await make_user())
    store = AttachmentStore(tmp_path)
    for _ in range(MAX_PENDING):
        await upload(db, me, store, b"note\n", "a.txt")
    with pytest.raises(UploadRefused) as refused:
        await upload(db, me, store, b"note\n", "a.txt")
    assert refused.value.reason == "too_many"
    await upload(db, other, store, b"note\n", "a.txt")  # someone else is not held back


# -- attaching ------------------------------------------------------------------------------------


async def attach(db: Database, principal: Principal, post_id: int, ids: list[int]) -> None:
    async with db.transaction() as session:
        post = await session.get(Post, post_id)
        assert post is not None
        await do_attach(session, principal, post, ids)


async def test_only_ones_own_pending_uploads_are_attached(
    db: Database, make_user: UserFactory, tmp_path: Path
) -> None:
    author_user, other_user = await make_user(), await make_user()
    author, other = await principal_of(db, author_user), await principal_of(db, other_user)
    store = AttachmentStore(tmp_path)
    mine = [await upload(db, author, store, b"one\n", "1.txt") for _ in range(3)]
    theirs = await upload(db, other, store, b"two\n", "2.txt")
    post_id = await make_post(db, author_user)

    with pytest.raises(ValidationFailed):
        await attach(db, author, post_id, [mine[0].id, theirs.id])
    with pytest.raises(ValidationFailed):
        await attach(db, author, post_id, [999_999])
    await attach(db, author, post_id, [mine[2].id, mine[0].id, mine[2].id])
    async with db.session() as session:
        rows = (
            await session.scalars(
                select(Attachment).where(Attachment.post_id == post_id).order_by("position")
            )
        ).all()
    assert [a.id for a in rows] == [mine[2].id, mine[0].id]
    # Once attached, an upload cannot be attached again, to this post or another.
    second_post = await make_post(db, author_user)
    with pytest.raises(ValidationFailed):
        await attach(db, author, second_post, [mine[0].id])


async def test_a_post_takes_at_most_10_files(
    db: Database, make_user: UserFactory, tmp_path: Path
) -> None:
    user = await make_user()
    me = await principal_of(db, user)
    store = AttachmentStore(tmp_path)
    ids = [(await upload(db, me, store, b"x\n", "x.txt")).id for _ in range(MAX_PER_POST + 1)]
    post_id = await make_post(db, user)
    with pytest.raises(UploadRefused) as refused:
        await attach(db, me, post_id, ids)
    assert refused.value.reason == "too_many"
    await attach(db, me, post_id, ids[:MAX_PER_POST])
    async with db.transaction() as session:
        post = await session.get(Post, post_id)
        assert post is not None
        with pytest.raises(UploadRefused):
            await do_attach(session, me, post, ids[MAX_PER_POST:])


# -- who may fetch --------------------------------------------------------------------------------


async def test_a_private_groups_file_is_seen_by_its_members_only(
    db: Database, make_user: UserFactory, tmp_path: Path
) -> None:
    owner, member, outsider = await make_user(), await make_user(), await make_user()
    customer = await make_user(kind=UserKind.CUSTOMER)
    group_id = await private_group(db, owner, member)
    store = AttachmentStore(tmp_path)
    owner_p = await principal_of(db, owner)
    attachment = await upload(db, owner_p, store, png(), "plan.png")
    post_id = await make_post(db, owner, group_id=group_id)
    await attach(db, owner_p, post_id, [attachment.id])

    async with db.session() as session:
        for user in (owner, member):
            found = await access_attachment(session, await principal_of(db, user), attachment.id)
            assert found.id == attachment.id
        for user in (outsider, customer):
            with pytest.raises(NotFound):
                await access_attachment(session, await principal_of(db, user), attachment.id)
        for missing in (999_999, 0, -1, 2**40):
            with pytest.raises(NotFound):
                await access_attachment(session, owner_p, missing)


async def test_a_pending_upload_is_its_uploaders_alone(
    db: Database, make_user: UserFactory, tmp_path: Path
) -> None:
    me_user, colleague_user = await make_user(), await make_user()
    me, colleague = await principal_of(db, me_user), await principal_of(db, colleague_user)
    attachment = await upload(db, me, AttachmentStore(tmp_path), b"draft\n", "draft.txt")
    async with db.session() as session:
        assert (await access_attachment(session, me, attachment.id)).id == attachment.id
        with pytest.raises(NotFound):
            await access_attachment(session, colleague, attachment.id)
        assert [a.id for a in await pending_uploads(session, me, [attachment.id, 5])] == [
            attachment.id
        ]
        assert await pending_uploads(session, colleague, [attachment.id]) == []
    async with db.transaction() as session:
        with pytest.raises(NotFound):
            await do_discard_upload(session, colleague, attachment.id)
    async with db.transaction() as session:
        key = await do_discard_upload(session, me, attachment.id)
    assert key == attachment.storage_key
    async with db.session() as session:
        with pytest.raises(NotFound):
            await access_attachment(session, me, attachment.id)


async def test_a_deleted_posts_files_are_gone_for_everyone(
    db: Database, make_user: UserFactory, tmp_path: Path
) -> None:
    user = await make_user()
    me = await principal_of(db, user)
    attachment = await upload(db, me, AttachmentStore(tmp_path), b"x\n", "x.txt")
    post_id = await make_post(db, user)
    await attach(db, me, post_id, [attachment.id])
    async with db.transaction() as session:
        post = await session.get(Post, post_id)
        assert post is not None
        post.deleted_at = utcnow()
    async with db.session() as session:
        with pytest.raises(NotFound):
            await access_attachment(session, me, attachment.id)


# -- pruning --------------------------------------------------------------------------------------


async def test_forgotten_uploads_and_orphan_files_are_pruned(
    db: Database, make_user: UserFactory, tmp_path: Path
) -> None:
    user = await make_user()
    me = await principal_of(db, user)
    store = AttachmentStore(tmp_path)
    forgotten = await upload(db, me, store, b"old\n", "old.txt")
    fresh = await upload(db, me, store, b"new\n", "new.txt")
    kept = await upload(db, me, store, b"posted\n", "posted.txt")
    await attach(db, me, await make_post(db, user), [kept.id])
    async with db.transaction() as session:
        for attachment_id in (forgotten.id, kept.id):
            row = await session.get(Attachment, attachment_id)
            assert row is not None
            row.created_at = utcnow() - timedelta(days=2)
    orphan = store.path(store.put(b"a rolled-back upload"))
    young_orphan = store.path(store.put(b"an upload being committed right now"))
    day_ago = time.time() - 2 * 86400
    os.utime(orphan, (day_ago, day_ago))
    for attachment in (forgotten, kept):
        os.utime(store.path(attachment.storage_key), (day_ago, day_ago))

    async with db.transaction() as session:
        removed = await prune_uploads(session, store)
    assert removed == 2
    assert not store.path(forgotten.storage_key).exists()
    assert not orphan.exists()
    for attachment in (fresh, kept):
        assert store.path(attachment.storage_key).exists()
    assert young_orphan.exists()
    async with db.session() as session:
        ids = set((await session.scalars(select(Attachment.id))).all())
    assert ids == {fresh.id, kept.id}
    async with db.transaction() as session:
        assert await prune_uploads(session, store) == 0


def test_the_store_refuses_keys_it_did_not_make(tmp_path: Path) -> None:
    store = AttachmentStore(tmp_path)
    for key in ("../secret_key", "ab/../../x", "/etc/passwd", "ab/" + "g" * 32, ""):
        with pytest.raises(ValueError):
            store.path(key)
