"""The SearchIndex contract, run against every backend (``index`` is parametrised: embedded
always, Meilisearch when a server is configured): typos, prefixes, ranking, filters, facets,
highlighting, deletes, audience filtering and bad queries."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from search.index import Ref, SearchDocument, SearchIndex, SearchQuery

STAFF = frozenset({"user:1", "role:employee"})
EVERYONE = frozenset({"role:employee"})


def doc(
    doc_id: str,
    title: str,
    body: str = "",
    *,
    audience: frozenset[str] = EVERYONE,
    day: date = date(2026, 1, 1),
    author: Ref | None = None,
    group: Ref | None = None,
    account: Ref | None = None,
) -> SearchDocument:
    kind = doc_id.split(":")[0]
    return SearchDocument(
        id=doc_id,
        kind=kind,
        title=title,
        body=body,
        url=f"/{kind}/{doc_id.split(':')[1]}",
        audience=audience,
        author=author,
        group=group,
        account=account,
        date=datetime(day.year, day.month, day.day, tzinfo=UTC),
    )


async def ids(
    index: SearchIndex, text: str, tokens: frozenset[str] = STAFF, **kw: object
) -> list[str]:
    result = await index.search(SearchQuery(text, tokens, **kw))  # type: ignore[arg-type]
    return [h.id for h in result.hits]


async def test_typos_find_the_words_meant(index: SearchIndex) -> None:
    await index.upsert(
        [
            doc("project:1", "Project Alpha", "Warehouse automation"),
            doc("project:2", "Project Beta", "Office move"),
            doc("post:3", "Lunch on Friday", "Bring a salad"),
        ]
    )
    assert (await ids(index, "projct alpa"))[0] == "project:1"
    assert "project:2" not in await ids(index, "projct alpa")
    assert await ids(index, "warehuose") == ["project:1"]  # two letters swapped: one typo
    assert await ids(index, "salda") == ["post:3"]


async def test_short_words_allow_no_typo(index: SearchIndex) -> None:
    await index.upsert([doc("item:1", "Red box"), doc("item:2", "Bed frame")])
    # "bex" is three letters: no typo allowed, and not a prefix of "box" either.
    assert await ids(index, "bex") == []
    assert await ids(index, "red") == ["item:1"]


async def test_the_last_word_is_a_prefix_while_typing(index: SearchIndex) -> None:
    await index.upsert(
        [
            doc("employee:1", "Jan Jansen", "Sales"),
            doc("employee:2", "Piet Pietersen", "Jansen's deputy"),
            doc("employee:3", "Karin de Vries", "Warehouse sales"),
        ]
    )
    found = await ids(index, "jans")
    assert found[:1] == ["employee:1"]  # the title match first
    assert set(found) == {"employee:1", "employee:2"}
    assert await ids(index, "sales warehou") == ["employee:3"]
    # Only the last word is a prefix: before it, a word must be whole (or within its typos).
    assert await ids(index, "warehou sales") == []


async def test_ranking_exact_then_title_then_recent(index: SearchIndex) -> None:
    await index.upsert(
        [
            doc("post:1", "Quarterly figures", "the invoice run", day=date(2026, 5, 1)),
            doc("post:2", "Invoice reminder", "please pay", day=date(2025, 1, 1)),
            doc("post:3", "Invoicing rules", "see the wiki", day=date(2026, 6, 1)),
            doc("post:4", "Another invoice note", "", day=date(2026, 7, 1)),
            doc("post:5", "Old news", "invoice", day=date(2024, 1, 1)),
            doc("post:6", "Typo in title", "invoise", day=date(2026, 8, 1)),
        ]
    )
    found = await ids(index, "invoice")
    # Exact title matches first, newest first among them; then exact body matches, newest first;
    # then a prefix ("invoicing"); then a typo.
    assert found == ["post:4", "post:2", "post:1", "post:5", "post:3", "post:6"]


async def test_filters_by_kind_date_author_group_and_account(index: SearchIndex) -> None:
    jan, eva = Ref(1, "Jan Jansen"), Ref(2, "Eva Smit")
    sales, acme = Ref(7, "Sales"), Ref(31, "Acme BV")
    await index.upsert(
        [
            doc("post:1", "Budget", "budget talk", author=jan, group=sales, day=date(2026, 1, 10)),
            doc("post:2", "Budget", "budget again", author=eva, day=date(2026, 2, 10)),
            doc("invoice:3", "INV-3", "budget invoice", account=acme, day=date(2026, 3, 10)),
            doc("project:4", "Budget project", "", account=acme, day=date(2026, 4, 10)),
        ]
    )
    assert set(await ids(index, "budget", kinds=("post",))) == {"post:1", "post:2"}
    assert set(await ids(index, "budget", kinds=("post", "invoice"))) == {
        "post:1",
        "post:2",
        "invoice:3",
    }
    assert await ids(index, "budget", author=2) == ["post:2"]
    assert await ids(index, "budget", group=7) == ["post:1"]
    assert set(await ids(index, "budget", account=31)) == {"invoice:3", "project:4"}
    feb_to_mar = await ids(index, "budget", date_from=date(2026, 2, 10), date_to=date(2026, 3, 10))
    assert set(feb_to_mar) == {"post:2", "invoice:3"}  # both ends inclusive
    # Filters alone, without text: everything they select, newest first.
    assert await ids(index, "", account=31) == ["project:4", "invoice:3"]


async def test_facets_count_only_what_the_caller_may_see(index: SearchIndex) -> None:
    jan = Ref(1, "Jan Jansen")
    secret = Ref(9, "Secret group")
    await index.upsert(
        [
            doc("post:1", "Report", "report", author=jan),
            doc("post:2", "Report", "report", author=jan),
            doc("invoice:3", "Report", "report", account=Ref(31, "Acme BV")),
            doc("post:4", "Report", "report", audience=frozenset({"group:9"}), group=secret),
        ]
    )
    result = await index.search(SearchQuery("report", STAFF, facets=True))
    counts = {name: {(f.value, f.label, f.count) for f in fs} for name, fs in result.facets.items()}
    assert counts["kind"] == {("post", "post", 2), ("invoice", "invoice", 1)}
    assert counts["author"] == {("1", "Jan Jansen", 2)}
    assert counts["account"] == {("31", "Acme BV", 1)}
    assert counts["group"] == set()  # the secret group's post is not the caller's to count
    assert result.total == 3
    member = await index.search(SearchQuery("report", STAFF | {"group:9"}, facets=True))
    assert {(f.value, f.label, f.count) for f in member.facets["group"]} == {
        ("9", "Secret group", 1)
    }
    # Facets follow the filters.
    filtered = await index.search(SearchQuery("report", STAFF, kinds=("post",), facets=True))
    assert {(f.value, f.count) for f in filtered.facets["kind"]} == {("post", 2)}


async def test_snippets_show_why_a_document_matched(index: SearchIndex) -> None:
    long_body = (
        "Lorem ipsum dolor sit amet. " * 30
    ) + "Call Jansen about <script>alert(1)</script> the crates."
    await index.upsert(
        [
            doc("post:1", "Weekly <b>update</b>", long_body),
            doc("project:2", "Project Alpha", "Warehouse automation for Alpha"),
        ]
    )
    [hit] = (await index.search(SearchQuery("jans", STAFF))).hits
    assert "<mark>Jansen</mark>" in hit.snippet_html  # a prefix match, marked
    assert "<script>" not in hit.snippet_html and "&lt;script&gt;" in hit.snippet_html
    assert hit.snippet_html.startswith("… ")  # a window around the match, not the beginning
    assert hit.title_html == "Weekly &lt;b&gt;update&lt;/b&gt;"
    [typo] = (await index.search(SearchQuery("projct alpa", STAFF))).hits
    assert typo.title_html == "<mark>Project</mark> <mark>Alpha</mark>"  # typos marked too
    assert "<mark>Alpha</mark>" in typo.snippet_html


async def test_deletes_and_replacements_leave_nothing_behind(index: SearchIndex) -> None:
    await index.upsert([doc("post:1", "Old title", "walrus"), doc("post:2", "Keep", "walrus")])
    await index.upsert([doc("post:1", "New title", "penguin")])
    assert await ids(index, "walrus") == ["post:2"]
    assert await ids(index, "penguin") == ["post:1"]
    await index.delete(["post:1", "post:404"])  # deleting a missing id is fine
    assert await ids(index, "penguin") == []
    assert (await index.stats()).documents == 1
    assert set(await index.fingerprints()) == {"post:2"}
    await index.clear()
    assert (await index.stats()).documents == 0


async def test_audience_is_filtered_inside_the_engine(index: SearchIndex) -> None:
    await index.upsert(
        [
            doc("post:1", "Salary review", "confidential", audience=frozenset({"hr"})),
            doc("post:2", "Salary day", "public", audience=EVERYONE),
            doc(
                "invoice:3",
                "Salary invoice",
                "",
                audience=frozenset({"account:31", "role:employee"}),
            ),
        ]
    )
    assert set(await ids(index, "salary", STAFF)) == {"post:2", "invoice:3"}
    assert set(await ids(index, "salary", STAFF | {"hr"})) == {"post:1", "post:2", "invoice:3"}
    assert await ids(index, "salary", frozenset({"account:31", "user:5"})) == ["invoice:3"]
    assert await ids(index, "salary", frozenset({"user:99"})) == []
    assert await ids(index, "salary", frozenset()) == []
    # Quotes and brackets in a token are values, never filter syntax.
    assert await ids(index, "salary", frozenset({'hr" OR audience EXISTS', "x]"})) == []
    assert await index.ids_with_token("invoice", "account:31") == ["invoice:3"]


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "x" * 10_000,
        "jansen " * 2000,
        "!!! ??? ... ---",
        '"unbalanced quote',
        "(((jansen",
        "title:jansen AND NOT body:*",
        "jan* ~2 ^3",
        "\u202ejansen\u202c",  # right-to-left override
        "ｊａｎｓｅｎ",  # full-width letters
        "jansen\u0301",  # a combining accent
        "🦀 jansen 🦀",
        "jansen\x00",
        "\ud800jansen",  # a lone surrogate
        "日本語のテキスト",
    ],
)
async def test_bad_queries_get_sensible_answers(index: SearchIndex, text: str) -> None:
    await index.upsert([doc("employee:1", "Jan Jansen", "Sales")])
    result = await index.search(SearchQuery(text, STAFF, facets=True))
    assert result.total == len(result.hits) <= 1
    if "jansen" in text and len(text) < 200 and "title:" not in text:
        assert [h.id for h in result.hits] == ["employee:1"], text
