"""The JSON search API: ``GET /api/v1/search?q=&kind=&limit=&cursor=``.

Answers ``{"hits": [{"kind", "id", "title", "snippet", "url", "date"}], "total": n,
"next": cursor}``: ``id`` is the object's id within its kind, ``snippet`` is HTML (the text
escaped, the matched words in ``<mark>``), ``next`` is null on the last page. ``limit`` is 1 to
50 (20 by default); ``kind`` is repeatable; ``from``, ``to``, ``author``, ``group`` and
``account`` filter as on the page. The same audience rules as everywhere: a caller finds only what
they may open. Errors are ``{"error": {"status", "message"}}``: 400 naming the parameter, 401 when
nobody is signed in, 503 when the index cannot be reached.
"""

from __future__ import annotations

import base64
import binascii
import json

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from domain.text import N_
from portal.auth.guards import require_principal
from portal.errors import error_response
from portal.i18n import gettext as _
from portal.routes.search import UNAVAILABLE, BadParameter, bad_parameter, read_query
from portal.state import app_state
from search.index import MAX_OFFSET, SearchUnavailable

DEFAULT_LIMIT = 20
MAX_LIMIT = 50
BAD_LIMIT = N_("Expected a whole number from 1 to 50.")
BAD_CURSOR = N_("This cursor is not valid. Start from the first page.")


def encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"o": offset}).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        if len(cursor) > 64:
            raise ValueError(cursor)
        value = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        offset = value["o"]
        if type(offset) is not int or not 0 <= offset <= MAX_OFFSET:
            raise ValueError(cursor)
        return offset
    except (ValueError, TypeError, KeyError, binascii.Error, UnicodeDecodeError):
        raise BadParameter("cursor", BAD_CURSOR) from None


def _limit(raw: str) -> int:
    raw = raw.strip()
    if not raw:
        return DEFAULT_LIMIT
    if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw[:4]) <= MAX_LIMIT:
        raise BadParameter("limit", BAD_LIMIT)
    return int(raw)


async def search_api(request: Request) -> Response:
    principal = require_principal(request)
    params = request.query_params
    try:
        limit = _limit(params.get("limit", ""))
        cursor = params.get("cursor", "")
        offset = decode_cursor(cursor) if cursor else 0
        query = read_query(request, principal, limit=limit, offset=offset)
    except BadParameter as exc:
        return bad_parameter(request, exc)
    try:
        result = await app_state(request)["search"].search(query)
    except SearchUnavailable:
        return error_response(request, 503, _(UNAVAILABLE))
    following = offset + len(result.hits)
    more = following < result.total and following <= MAX_OFFSET and len(result.hits) == limit
    return JSONResponse(
        {
            "hits": [
                {
                    "kind": hit.kind,
                    "id": hit.object_id,
                    "title": hit.title,
                    "snippet": hit.snippet_html,
                    "url": hit.url,
                    "date": hit.date.isoformat() if hit.date else None,
                }
                for hit in result.hits
            ],
            "total": result.total,
            "next": encode_cursor(following) if more else None,
        },
        headers={"Cache-Control": "no-store"},
    )


routes = [Route("/api/v1/search", search_api, methods=["GET"], name="api_search")]
