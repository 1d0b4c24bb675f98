"""Where attachment bytes live: files under ``<data dir>/attachments``, one per upload.

A file is stored under a random key the server makes (``ab/abcdef…``, 32 hex digits), never
under anything the user typed, so a name cannot climb out of the directory, collide with another
upload or guess its way to someone else's file. Writes are atomic: the bytes go to a temporary
file in the same directory, are flushed to disk, and are renamed into place, so a reader never
sees half a file and a crash leaves only a temporary file behind.

The database row is written in the caller's transaction after the file: if that transaction
rolls back, the file is an orphan: ``old_files`` lists old files, and the pruning in
``domain.posts.attachments`` deletes those no row names. This module knows nothing of the database.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

_KEY = re.compile(r"\A[0-9a-f]{2}/[0-9a-f]{32}\Z")


class AttachmentStore:
    """Attachment files in a directory of their own (``data_dir/attachments``)."""

    def __init__(self, data_dir: Path) -> None:
        self.root = Path(data_dir) / "attachments"

    def put(self, data: bytes) -> str:
        """Write ``data`` under a new key and return the key."""
        name = secrets.token_hex(16)
        key = f"{name[:2]}/{name}"
        folder = self.root / name[:2]
        folder.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=folder, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(temporary, folder / name)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise
        return key

    def path(self, key: str) -> Path:
        """The file of a key. Raises ValueError for anything that is not a key this store made,
        so a damaged row can never point outside the directory."""
        if not _KEY.match(key):
            raise ValueError(f"not an attachment key: {key!r}")
        return self.root / key

    def read(self, key: str) -> bytes:
        return self.path(key).read_bytes()

    def delete(self, key: str) -> None:
        """Remove a key's file; one already gone is fine (pruning may run twice)."""
        with contextlib.suppress(FileNotFoundError):
            self.path(key).unlink()

    def old_files(self, *, older_than: float) -> Iterator[str]:
        """Every file (a key, or a temporary file left by a crash, as a path relative to the
        root) last written more than ``older_than`` seconds ago: the candidates for pruning,
        which keeps those a row still names."""
        if not self.root.is_dir():
            return
        cutoff = time.time() - older_than
        for folder in sorted(self.root.iterdir()):
            if not folder.is_dir():
                continue
            for entry in sorted(folder.iterdir()):
                try:
                    old = entry.stat().st_mtime < cutoff
                except FileNotFoundError:
                    continue
                if old:
                    yield f"{folder.name}/{entry.name}"

    def remove_relative(self, relative: str) -> None:
        """Delete a file ``old_files`` named (a key, or a temporary file left by a crash)."""
        folder, _, name = relative.partition("/")
        if not re.fullmatch(r"[0-9a-f]{2}", folder) or not re.fullmatch(
            r"(?:[0-9a-f]{32}|\.upload-[A-Za-z0-9_]+)", name
        ):
            raise ValueError(f"not a file of this store: {relative!r}")
        with contextlib.suppress(FileNotFoundError):
            (self.root / folder / name).unlink()
