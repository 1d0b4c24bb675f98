"""Generated search corpora for ``bench_search``: documents that look like an intranet's (short
titles, a few sentences, a vocabulary with common and rare words, typical audiences), the same on
every run for the same seed, and as database rows (posts) for the reindex benchmark.

Words are made of syllables, so 20,000 distinct ones exist without a dictionary; a few real words
("project", "alpha", "jansen", "invoice", "harbour") are spread through the corpus at known rates so
the typical queries have something to find.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert

from domain.db import Database
from domain.people.models import User, UserKind
from domain.posts.models import Post, PostAudience
from search.index import Ref, SearchDocument

KINDS = (
    "post",
    "post",
    "post",
    "comment",
    "comment",
    "account",
    "contact",
    "project",
    "employee",
    "invoice",
    "item",
    "group",
    "attachment",
)
SYLLABLES = (
    "ka",
    "lo",
    "mer",
    "van",
    "den",
    "ber",
    "sto",
    "ri",
    "ne",
    "tal",
    "pa",
    "do",
    "win",
    "gel",
    "hof",
    "ma",
    "ter",
    "ust",
    "fle",
    "bro",
    "ik",
    "sen",
    "dam",
    "wo",
    "lu",
)
SPICE = ("project", "alpha", "jansen", "invoice", "harbour", "warehouse", "budget", "meeting")
START = datetime(2023, 1, 1, tzinfo=UTC)
AUTHORS = 200


def vocabulary(seed: int = 1, size: int = 20_000) -> list[str]:
    rng = random.Random(seed)
    words: set[str] = set()
    while len(words) < size:
        words.add("".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))))
    return sorted(words)


class Corpus:
    def __init__(self, seed: int = 1) -> None:
        self.seed = seed
        self.words = vocabulary(seed)

    def _text(self, rng: random.Random, low: int, high: int) -> str:
        # Zipf-like: a few words are common, most are rare.
        out = []
        for _ in range(rng.randint(low, high)):
            if rng.random() < 0.03:
                out.append(rng.choice(SPICE))
            else:
                out.append(self.words[int(len(self.words) * rng.random() ** 3)])
        return " ".join(out)

    def documents(self, n: int) -> Iterator[SearchDocument]:
        rng = random.Random(self.seed)
        for i in range(1, n + 1):
            kind = rng.choice(KINDS)
            roll = rng.random()
            if roll < 0.7:
                audience = {"role:employee"}
            elif roll < 0.9:
                audience = {f"group:{rng.randint(1, 500)}"}
            else:
                audience = {f"account:{rng.randint(1, 2000)}", "role:employee"}
            author = rng.randint(1, AUTHORS)
            audience.add(f"user:{author}")
            title = self._text(rng, 2, 5).capitalize()
            if rng.random() < 0.01:
                title = f"Project {rng.choice(('Alpha', 'Beta', 'Gamma'))} {title}"
            yield SearchDocument(
                id=f"{kind}:{i}",
                kind=kind,
                title=title,
                body=self._text(rng, 10, 40),
                url=f"/{kind}s/{i}",
                audience=frozenset(audience),
                author=Ref(author, f"Author {author}"),
                account=Ref(rng.randint(1, 2000), "Account") if kind == "invoice" else None,
                date=START + timedelta(minutes=rng.randint(0, 3 * 525_600)),
            )


async def fill_posts(db: Database, n: int, seed: int = 1, chunk: int = 20_000) -> None:
    """``n`` company posts (with audiences) written straight into a migrated database."""
    corpus = Corpus(seed)
    rng = random.Random(seed)
    async with db.transaction() as session:
        await session.execute(
            insert(User),
            [
                {
                    "id": a,
                    "email": f"author{a}@example.com",
                    "name": f"Author {a}",
                    "kind": UserKind.STAFF,
                    "is_active": True,
                    "created_at": START,
                }
                for a in range(1, AUTHORS + 1)
            ],
        )
    for start in range(1, n + 1, chunk):
        posts, audiences = [], []
        for i in range(start, min(start + chunk, n + 1)):
            author = rng.randint(1, AUTHORS)
            body = corpus._text(rng, 10, 40)
            posts.append(
                {
                    "id": i,
                    "author_id": author,
                    "body": body,
                    "body_html": f"<p>{body}</p>",
                    "created_at": START + timedelta(minutes=i),
                }
            )
            audiences += [
                {"post_id": i, "token": "role:employee"},
                {"post_id": i, "token": f"user:{author}"},
            ]
        async with db.transaction() as session:
            await session.execute(insert(Post), posts)
            await session.execute(insert(PostAudience), audiences)
