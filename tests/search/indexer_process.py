"""An indexer in a process of its own, for the crash test: ``python -m
tests.search.indexer_process <database url> <index dir>`` follows the log until killed."""

from __future__ import annotations

import asyncio
import sys

from domain.db import Database
from search.backends.embedded import EmbeddedIndex
from search.indexer import Indexer


async def main(url: str, path: str) -> None:
    db = Database(url)
    index = EmbeddedIndex(path)
    await Indexer(db, index, poll_seconds=0.02).run()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
