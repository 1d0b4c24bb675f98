"""Importing records from a CSV or XML file: one page, for administrators only.

Everyone else — staff without the admin role, customers, partners — gets 404, as for a page that
does not exist. The file is checked whole before anything is written (``domain.records.importing``):
a file with any bad row comes back with status 422 and a table of every row, column and reason;
a good one is written in one transaction and the browser is sent back (303) to the page, which
says how many records were created and updated. A missing file, an empty one or an unknown kind
is a 400 with the form and a message.
"""

from __future__ import annotations

from typing import Any

from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from domain.access import Principal
from domain.db import utcnow
from domain.errors import NotFound, ValidationFailed
from domain.records.import_columns import SPECS, Column, KindSpec
from domain.records.import_formats import RowError
from domain.records.importing import ImportReport, do_import
from portal.auth.guards import require_staff
from portal.i18n import gettext as _
from portal.record_kinds import SLUG_OF
from portal.state import app_state

KINDS = {SLUG_OF[kind]: spec for kind, spec in SPECS.items()}
DEFAULT_KIND = "accounts"


def require_admin(request: Request) -> Principal:
    principal = require_staff(request)
    if not principal.is_admin:
        raise NotFound(request.url.path)
    return principal


def _translated(message: str, params: tuple[tuple[str, str], ...] = ()) -> str:
    text = _(message)
    return text % dict(params) if params else text


def _problems(errors: list[RowError]) -> list[dict[str, Any]]:
    return [
        {"row": e.row or None, "field": e.field, "message": _translated(e.message, e.params)}
        for e in errors
    ]


def _holds(columns: tuple[Column, ...]) -> list[tuple[str | None, str]]:
    """What each column holds, said once when the alternatives hold the same."""
    texts = [_translated(c.holds, (("values", ", ".join(c.choices)),)) for c in columns]
    if len(set(texts)) == 1:
        return [(None, texts[0])]
    return [(c.name, text) for c, text in zip(columns, texts, strict=True)]


def _columns(spec: KindSpec) -> list[dict[str, Any]]:
    """What the page lists for a kind: one entry per attribute, with the columns that give it."""
    return [
        {
            "names": [c.name for c in f.columns],
            "holds": _holds(f.columns),
            "required": f.required,
            "default": _(f.default) if f.default else "",
        }
        for f in spec.fields()
    ]


def _count(request: Request, name: str) -> int | None:
    raw = request.query_params.get(name, "")
    if not raw.isascii() or not raw.isdigit() or len(raw) > 9:
        return None
    return int(raw)


def _render(
    request: Request,
    *,
    kind: str,
    status: int = 200,
    message: str | None = None,
    report: ImportReport | None = None,
) -> Response:
    created, updated = _count(request, "created"), _count(request, "updated")
    done = status == 200 and created is not None and updated is not None
    return app_state(request)["templates"].TemplateResponse(
        request,
        "records/import.html",
        {
            "kind": kind if kind in KINDS else DEFAULT_KIND,
            "kinds": {
                slug: {
                    "root": spec.root,
                    "element": spec.element,
                    "matching": _(spec.matching),
                    "columns": _columns(spec),
                    "ignored": sorted(spec.ignored),
                }
                for slug, spec in KINDS.items()
            },
            "message": message,
            "problems": _problems(report.errors) if report else [],
            "done": {"created": created, "updated": updated} if done else None,
        },
        status_code=status,
    )


async def import_page(request: Request) -> Response:
    require_admin(request)
    return _render(request, kind=request.query_params.get("kind", DEFAULT_KIND))


async def import_submit(request: Request) -> Response:
    principal = require_admin(request)
    try:
        form = await request.form(max_files=1, max_fields=10)
    except (HTTPException, MultiPartException):
        return _render(
            request, kind=DEFAULT_KIND, status=400, message=_("The form could not be read.")
        )
    try:
        kind = form.get("kind")
        upload = form.get("file")
        if not isinstance(kind, str) or kind not in KINDS:
            return _render(
                request, kind=DEFAULT_KIND, status=400, message=_("Choose what to import.")
            )
        if not isinstance(upload, UploadFile):
            return _render(request, kind=kind, status=400, message=_("Choose a file to import."))
        data = await upload.read()
    finally:
        await form.close()
    if not data.strip():
        return _render(request, kind=kind, status=400, message=_("The file is empty."))

    try:
        async with app_state(request)["db"].transaction() as session:
            report = await do_import(session, principal, KINDS[kind].kind, data, now=utcnow())
    except ValidationFailed as exc:
        message = " ".join(_(text) for text in exc.errors.values())
        return _render(request, kind=kind, status=422, message=message)
    if not report.ok:
        return _render(
            request,
            kind=kind,
            status=422,
            message=_("Nothing was imported. Correct these rows and import the file again."),
            report=report,
        )
    target = request.url_for("record_import").include_query_params(
        kind=kind, created=report.created, updated=report.updated
    )
    return RedirectResponse(f"{target.path}?{target.query}", status_code=303)


routes = [
    Route("/records/import", import_page, methods=["GET"], name="record_import"),
    Route("/records/import", import_submit, methods=["POST"], name="record_import_submit"),
]
