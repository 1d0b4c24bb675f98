"""The Jinja2 environment: translations, formatting filters, and what every page may use.

Every template receives ``principal``, ``user``, ``csrf_token``, ``csp_nonce`` and ``language``
from the request, so no route has to remember them.
"""

from __future__ import annotations

from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from babel import Locale
from babel.dates import format_date as babel_format_date
from babel.dates import format_datetime as babel_format_datetime
from babel.numbers import format_currency
from jinja2 import Environment, FileSystemLoader, pass_context, select_autoescape
from jinja2.runtime import Context
from starlette.requests import Request
from starlette.templating import Jinja2Templates

from portal import i18n
from portal.paths import path_for
from portal.state import csrf_token_of, principal_of, user_of

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"


@cache
def _locale(language: str) -> Locale:
    # Parsing a locale reads Babel's data files; a page formats hundreds of amounts and dates.
    return Locale.parse(language)


def money(cents: int | None, currency: str = "EUR") -> str:
    if cents is None:
        return ""
    return format_currency(cents / 100, currency, locale=_locale(i18n.current_language()))


def day(value: date | None, style: str = "medium") -> str:
    if value is None:
        return ""
    return babel_format_date(value, format=style, locale=_locale(i18n.current_language()))


def moment(value: datetime | None, style: str = "medium") -> str:
    if value is None:
        return ""
    return babel_format_datetime(value, format=style, locale=_locale(i18n.current_language()))


@pass_context
def list_url(context: Context, kind: str, **params: object) -> str:
    """The URL of a record list page (``kind`` as in the URL: "invoices"), filtered by the
    given query parameters."""
    request: Request = context["request"]
    path = request.url_for("record_list", kind=kind).path
    query = urlencode({k: str(v) for k, v in params.items() if v is not None})
    return f"{path}?{query}" if query else path


def _request_context(request: Request) -> dict[str, Any]:
    state = request.scope.get("state", {})
    return {
        "principal": principal_of(request),
        "user": user_of(request),
        "csrf_token": csrf_token_of(request),
        "csp_nonce": state.get("csp_nonce", ""),
        "language": state.get("language", i18n.DEFAULT_LANGUAGE),
    }


def make_templates(*, auto_reload: bool = False) -> Jinja2Templates:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        # Checking every template file's mtime on each render costs a stat per include;
        # only a developer editing templates (ATRIUM_DEBUG) needs it.
        auto_reload=auto_reload,
        autoescape=select_autoescape(["html", "xml"], default_for_string=True),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_callables(  # type: ignore[attr-defined]
        i18n.gettext, i18n.ngettext, newstyle=True
    )
    env.filters["money"] = money
    env.filters["day"] = day
    env.filters["moment"] = moment
    env.filters["translate"] = i18n.gettext
    env.globals["LANGUAGE_NAMES"] = i18n.LANGUAGE_NAMES
    env.globals["list_url"] = list_url
    env.globals["path_for"] = path_for
    return Jinja2Templates(env=env, context_processors=[_request_context])
