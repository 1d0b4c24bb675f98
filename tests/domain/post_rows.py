"""Posts for the poll and attachment tests, written as rows: a post with the audience the rules
give it (a private group's post is seen by ``group:<id>`` and its author), so these tests do not
depend on the posting action's other rules. Also: principals, a private group with members, and
sample files of every allowed type, made by hand from their formats."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib

from domain.access import EMPLOYEES, Principal, load_principal, user_token
from domain.db import Database, utcnow
from domain.groups.actions import do_create_group
from domain.groups.membership import do_add_member
from domain.groups.queries import content_audience
from domain.people.models import User
from domain.posts.models import Post, PostAudience


async def principal_of(db: Database, user: User) -> Principal:
    async with db.session() as session:
        fresh = await session.get(User, user.id)
        assert fresh is not None
        return await load_principal(session, fresh)


async def private_group(db: Database, owner: User, *members: User) -> int:
    """A private group of ``owner`` with ``members`` in it."""
    owner_principal = await principal_of(db, owner)
    async with db.transaction() as session:
        group = await do_create_group(
            session, owner_principal, name=f"Private {owner.id}", visibility="private"
        )
        for member in members:
            await do_add_member(session, owner_principal, group.id, member.id)
        return group.id


async def make_post(
    db: Database, author: User, *, group_id: int | None = None, deleted: bool = False
) -> int:
    """A post on the company timeline, or in a group, with the audience rows the rules give."""
    async with db.transaction() as session:
        audience: set[str] = {user_token(author.id)}
        if group_id is None:
            audience.add(EMPLOYEES)
        else:
            from domain.groups.models import Group

            group = await session.get(Group, group_id)
            assert group is not None
            audience |= content_audience(group)
        post = Post(
            author_id=author.id,
            group_id=group_id,
            body="A post",
            body_html="<p>A post</p>",
            deleted_at=utcnow() if deleted else None,
        )
        session.add(post)
        await session.flush()
        session.add_all(PostAudience(post_id=post.id, token=t) for t in sorted(audience))
        return post.id


# -- sample files ---------------------------------------------------------------------------------


def png(width: int = 3, height: int = 2) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    rows = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def jpeg(width: int = 640, height: int = 480) -> bytes:
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    sof = b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, height, width, 1) + b"\x01\x11\x00"
    return b"\xff\xd8" + app0 + sof + b"\xff\xd9"


def gif(width: int = 10, height: int = 20) -> bytes:
    return b"GIF89a" + struct.pack("<HH", width, height) + b"\x00\x00\x00;"


def webp(width: int = 300, height: int = 200) -> bytes:
    payload = b"\x00\x00\x00\x00" + (width - 1).to_bytes(3, "little")
    payload += (height - 1).to_bytes(3, "little")
    chunk = b"VP8X" + struct.pack("<I", len(payload)) + payload
    return b"RIFF" + struct.pack("<I", 4 + len(chunk)) + b"WEBP" + chunk


def office(folder: str) -> bytes:
    """A minimal OOXML package: ``word``, ``xl`` or ``ppt``."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr(f"{folder}/document.xml", "<x/>")
    return buffer.getvalue()


def opendocument(kind: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(zipfile.ZipInfo("mimetype"), f"application/vnd.oasis.opendocument.{kind}")
        archive.writestr("content.xml", "<x/>", compress_type=zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def plain_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("notes.txt", "hello")
    return buffer.getvalue()


PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
