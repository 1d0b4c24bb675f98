"""Search pages: ``/search`` (full results with filters, facets and pages) and the top bar's
suggestions fragment (``/search/suggest``, asked by htmx while typing).

Everyone signed in may search: the index answers each caller with documents their tokens may see
(``search.index``), staff and externals alike, so a hit is always something they may open.

Parameters: ``q`` (the text, cut to 200 characters), ``kind`` (repeatable), ``from`` and ``to``
(ISO dates, inclusive), ``author``, ``group``, ``account`` (ids), ``page`` (from 1). A malformed
filter answers 400 naming it; any text at all is a valid query (at worst it finds nothing).
An unreachable index answers 503 with a message, never a 500.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from domain.access import Principal
from domain.text import N_
from portal.auth.guards import require_principal
from portal.errors import error_response
from portal.i18n import gettext as _
from portal.routes.composer import is_htmx, respond
from portal.state import app_state
from search.documents import KINDS
from search.index import (
    MAX_OFFSET,
    MAX_QUERY_CHARS,
    FacetCount,
    SearchHit,
    SearchQuery,
    SearchResult,
    SearchUnavailable,
)

PAGE_SIZE = 20
SUGGESTIONS = 10
PER_KIND = 4
FILTERS = ("kind", "from", "to", "author", "group", "account")
BAD_DATE = N_("Expected a date such as 2026-03-31.")
BAD_ID = N_("Expected a whole number.")
BAD_KIND = N_("There is no such kind of result.")
UNAVAILABLE = N_("Search is not available right now. Please try again in a moment.")

# The kinds in the order their groups are shown, with their labels.
KIND_LABELS = {
    "post": N_("Posts"),
    "comment": N_("Comments"),
    "attachment": N_("Files"),
    "group": N_("Groups"),
    "account": N_("Accounts"),
    "contact": N_("Contacts"),
    "project": N_("Projects"),
    "employee": N_("People"),
    "invoice": N_("Invoices"),
    "item": N_("Items"),
}
FACET_LABELS = {
    "kind": N_("Kind"),
    "author": N_("Author"),
    "group": N_("Group"),
    "account": N_("Account"),
}


class BadParameter(ValueError):
    def __init__(self, name: str, message: str) -> None:
        super().__init__(f"{name}: {message}")
        self.name = name
        self.message = message


def _id(params: Mapping[str, str], name: str) -> int | None:
    raw = params.get(name, "").strip()
    if not raw:
        return None
    if not raw.isascii() or not raw.isdigit() or len(raw) > 10 or int(raw) >= 2**31:
        raise BadParameter(name, BAD_ID)
    return int(raw)


def _date(params: Mapping[str, str], name: str) -> date | None:
    raw = params.get(name, "").strip()
    if not raw:
        return None
    try:
        if len(raw) != 10:
            raise ValueError(raw)
        return date.fromisoformat(raw)
    except ValueError:
        raise BadParameter(name, BAD_DATE) from None


def read_query(request: Request, principal: Principal, **extra: Any) -> SearchQuery:
    """The query of a request's parameters; raises ``BadParameter`` for a malformed filter."""
    params = request.query_params
    kinds = tuple(dict.fromkeys(k for k in params.getlist("kind") if k))
    if any(k not in KINDS for k in kinds):
        raise BadParameter("kind", BAD_KIND)
    return SearchQuery(
        text=params.get("q", "")[:MAX_QUERY_CHARS],
        tokens=principal.tokens,
        kinds=kinds,
        date_from=_date(params, "from"),
        date_to=_date(params, "to"),
        author=_id(params, "author"),
        group=_id(params, "group"),
        account=_id(params, "account"),
        **extra,
    )


def bad_parameter(request: Request, exc: BadParameter) -> Response:
    return error_response(request, 400, f"{exc.name}: {_(exc.message)}")


@dataclass(frozen=True)
class FacetLink:
    label: str
    count: int
    href: str
    active: bool


def _href(request: Request, params: list[tuple[str, str]]) -> str:
    path = request.url_for("search").path
    return f"{path}?{urlencode(params)}" if params else path


def facet_links(
    request: Request, facets: dict[str, list[FacetCount]]
) -> dict[str, list[FacetLink]]:
    """Each facet value as a link that sets (or, when set, clears) that filter."""
    current = [(k, v) for k, v in request.query_params.multi_items() if k != "page"]
    out: dict[str, list[FacetLink]] = {}
    for name, counts in facets.items():
        links = []
        for facet in counts:
            active = (name, facet.value) in current
            if active:
                params = [p for p in current if p != (name, facet.value)]
            else:
                params = [p for p in current if name == "kind" or p[0] != name]
                params.append((name, facet.value))
            label = _(KIND_LABELS[facet.value]) if name == "kind" else facet.label
            links.append(FacetLink(label, facet.count, _href(request, params), active))
        if links:
            out[name] = links
    return out


def page_href(request: Request, page: int) -> str:
    params = [(k, v) for k, v in request.query_params.multi_items() if k != "page"]
    return _href(request, [*params, ("page", str(page))] if page > 1 else params)


def _page(request: Request) -> int:
    raw = request.query_params.get("page", "1").strip() or "1"
    if not raw.isascii() or not raw.isdigit() or len(raw) > 4 or int(raw) < 1:
        raise BadParameter("page", BAD_ID)
    return min(int(raw), MAX_OFFSET // PAGE_SIZE + 1)


async def search_page(request: Request) -> Response:
    principal = require_principal(request)
    try:
        page = _page(request)
        query = read_query(
            request,
            principal,
            limit=PAGE_SIZE,
            offset=(page - 1) * PAGE_SIZE,
            facets=True,
        )
    except BadParameter as exc:
        return bad_parameter(request, exc)
    try:
        result = await app_state(request)["search"].search(query)
    except SearchUnavailable:
        return error_response(request, 503, _(UNAVAILABLE))
    pages = max(1, -(-min(result.total, MAX_OFFSET + PAGE_SIZE) // PAGE_SIZE))
    context = {
        "q": query.text,
        "query": query,
        "result": result,
        "facets": facet_links(request, result.facets),
        "facet_labels": FACET_LABELS,
        "kind_labels": KIND_LABELS,
        "page": page,
        "previous_href": page_href(request, page - 1) if page > 1 else None,
        "next_href": page_href(request, page + 1) if page < pages else None,
        "filtered": any(request.query_params.get(f) for f in FILTERS),
        "clear_href": _href(request, [("q", query.text)] if query.text else []),
    }
    template = "search/_results.html" if is_htmx(request) else "search/index.html"
    return respond(request, template, context)


def grouped(hits: list[SearchHit]) -> list[tuple[str, list[SearchHit]]]:
    """The best hits grouped by kind, the groups in order of their best hit; a few of each kind,
    so one busy kind does not hide the others."""
    groups: dict[str, list[SearchHit]] = {}
    shown = 0
    for hit in hits:
        group = groups.setdefault(hit.kind, [])
        if len(group) < PER_KIND and shown < SUGGESTIONS:
            group.append(hit)
            shown += 1
    return list(groups.items())


async def suggestions(request: Request) -> Response:
    principal = require_principal(request)
    q = request.query_params.get("q", "")[:MAX_QUERY_CHARS]
    result = SearchResult([], 0)
    unavailable = False
    if q.strip():
        query = SearchQuery(text=q, tokens=principal.tokens, limit=3 * SUGGESTIONS)
        try:
            result = await app_state(request)["search"].search(query)
        except SearchUnavailable:
            unavailable = True
    context = {
        "q": q,
        "groups": grouped(result.hits),
        "kind_labels": KIND_LABELS,
        "unavailable": unavailable,
        "all_href": _href(request, [("q", q)]),
    }
    response = respond(request, "search/_suggestions.html", context)
    response.headers["Cache-Control"] = "no-store"
    return response


routes = [
    Route("/search", search_page, methods=["GET"], name="search"),
    Route("/search/suggest", suggestions, methods=["GET"], name="search_suggest"),
]
