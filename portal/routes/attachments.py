"""Attachments over HTTP: uploading files for a post being written, removing one again, and
downloading them.

- ``POST /attachments`` (``attachment_upload``): multipart, one or more ``file`` fields, plus the
  ``attachment_ids`` the composer already holds (so the 10-per-post limit is told at once, not
  when posting). Answers 201 with ``templates/posts/_upload.html`` — one item per upload, each
  carrying a hidden ``attachment_ids`` input for the composer's form — or, for the API (JSON
  accepted, or an ``/api/`` path), ``{"items": [{"id", "filename", "content_type", "size",
  "is_image", "width", "height", "url"}]}``. Refusals: 413 too large, 415 type not allowed, 422
  too many or empty, 400 no file / unreadable form — each with a message. An htmx request gets
  the refusals as a 422 fragment with the message instead, since the page swaps only 2xx and 422.
  CSRF is checked by the middleware (form field or ``X-CSRF-Token``), which also caps the body
  (``portal.auth.csrf.MAX_BODY_BYTES``), so an endless upload never fills memory; the multipart
  parser spools files to disk, and each is read no further than the limit plus one byte.
- ``POST /attachments/{id}/remove`` (``attachment_remove``): the uploader drops one of their
  pending uploads from the composer. 200 with an empty body (htmx swaps the item away), 204 for
  JSON; 404 for anything that is not their own unattached upload.
- ``GET /attachments/{id}/{filename}`` (``attachment_file``): the file, for whoever may see it
  (``access_attachment``); 404 for everyone else, exactly like a missing id. The name in the URL
  is for looks only. Raster images (sniffed at upload) are shown inline; everything else is
  ``Content-Disposition: attachment`` with the cleaned name (RFC 6266 ``filename*``). Every file
  response adds ``Content-Security-Policy: sandbox; default-src 'none'`` (kept beside the site's
  policy by the security middleware, so it can only restrict), ``nosniff``, and
  ``Cache-Control: private, no-cache`` with the content hash as ETag: a browser may keep the file
  but asks again each time, so a reader who loses access stops getting it, and a 304 costs one
  query.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from domain.errors import NotFound
from domain.posts.attachments import (
    MAX_BYTES,
    MAX_PER_POST,
    TOO_MANY,
    UploadRefused,
    access_attachment,
    clean_filename,
    do_discard_upload,
    do_upload,
)
from domain.posts.filetypes import CSV, IMAGES, TEXT
from domain.posts.models import Attachment
from domain.posts.storage import AttachmentStore
from portal.auth.guards import require_principal
from portal.errors import error_response, wants_json
from portal.i18n import gettext as _
from portal.state import app_state

STATUS = {"too_large": 413, "type": 415, "too_many": 422, "empty": 422}
FILE_POLICY = "sandbox; default-src 'none'"


def attachment_store(request: Request) -> AttachmentStore:
    return AttachmentStore(app_state(request)["settings"].data_dir)


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def file_url(request: Request, attachment: Attachment) -> str:
    return request.url_for(
        "attachment_file", id=attachment.id, filename=quote(attachment.filename, safe="")
    ).path


def content_disposition(filename: str, *, inline: bool) -> str:
    """RFC 6266: an ASCII ``filename`` for old clients (anything else as ``_``) and the exact
    name as UTF-8 in ``filename*``."""
    fallback = "".join(c if " " <= c <= "~" and c not in '"\\%' else "_" for c in filename)
    disposition = "inline" if inline else "attachment"
    return f"{disposition}; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def _item(request: Request, attachment: Attachment) -> dict[str, Any]:
    return {
        "id": attachment.id,
        "filename": attachment.filename,
        "content_type": attachment.content_type,
        "size": attachment.size,
        "is_image": attachment.is_image,
        "width": attachment.width,
        "height": attachment.height,
        "url": file_url(request, attachment),
    }


def _refused(request: Request, status: int, message: str) -> Response:
    if is_htmx(request) and not wants_json(request):
        return app_state(request)["templates"].TemplateResponse(
            request, "posts/_upload.html", {"uploads": [], "upload_error": message}, 422
        )
    return error_response(request, status, message)


def _held_ids(values: list[Any]) -> set[str]:
    """The composer's current uploads: only their number matters here (do_attach checks them)."""
    return {v for v in values if isinstance(v, str) and v.strip()}


async def upload(request: Request) -> Response:
    principal = require_principal(request)
    try:
        form = await request.form(max_files=MAX_PER_POST, max_fields=MAX_PER_POST + 10)
    except MultiPartException as exc:
        if "files" in str(exc).lower():
            return _refused(request, 422, _(TOO_MANY))
        return _refused(request, 400, _("The form could not be read."))
    except HTTPException:
        return _refused(request, 400, _("The form could not be read."))
    try:
        files = [f for f in form.getlist("file") if isinstance(f, UploadFile)]
        held = _held_ids(form.getlist("attachment_ids"))
        if not files:
            return _refused(request, 400, _("Choose a file to upload."))
        if len(held) + len(files) > MAX_PER_POST:
            return _refused(request, 422, _(TOO_MANY))
        received = [
            (f.filename or "", f.content_type or "", await f.read(MAX_BYTES + 1)) for f in files
        ]
    finally:
        await form.close()

    store = attachment_store(request)
    made: list[Attachment] = []
    current = ""
    try:
        async with app_state(request)["db"].transaction() as session:
            for filename, content_type, data in received:
                current = filename
                made.append(
                    await do_upload(session, principal, store, filename, content_type, data)
                )
    except UploadRefused as exc:
        for attachment in made:  # rolled back: their files would only wait for pruning
            store.delete(attachment.storage_key)
        message = _(exc.errors["file"])
        if len(received) > 1:
            message = f"{clean_filename(current)}: {message}"
        return _refused(request, STATUS[exc.reason], message)

    if wants_json(request):
        return JSONResponse({"items": [_item(request, a) for a in made]}, 201)
    return app_state(request)["templates"].TemplateResponse(
        request, "posts/_upload.html", {"uploads": made}, 201
    )


async def remove(request: Request) -> Response:
    principal = require_principal(request)
    async with app_state(request)["db"].transaction() as session:
        key = await do_discard_upload(session, principal, request.path_params["id"])
    attachment_store(request).delete(key)
    if wants_json(request):
        return Response(status_code=204)
    return Response(b"", 200, media_type="text/html")


async def download(request: Request) -> Response:
    principal = require_principal(request)
    async with app_state(request)["db"].session() as session:
        attachment = await access_attachment(session, principal, request.path_params["id"])
    path = attachment_store(request).path(attachment.storage_key)
    inline = attachment.is_image and attachment.content_type in IMAGES
    etag = f'"{attachment.sha256}"'
    headers = {
        "Content-Disposition": content_disposition(attachment.filename, inline=inline),
        "Content-Security-Policy": FILE_POLICY,
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "private, no-cache",
        "Cross-Origin-Resource-Policy": "same-origin",
        "ETag": etag,
    }
    if etag in {t.strip() for t in request.headers.get("if-none-match", "").split(",")}:
        return Response(status_code=304, headers=headers)
    if not path.is_file():  # pruned, or lost: as if it never existed
        raise NotFound(request.url.path)
    media_type = attachment.content_type
    if media_type in (TEXT, CSV):
        media_type += "; charset=utf-8"
    return FileResponse(path, media_type=media_type, headers=headers)


routes = [
    Route("/attachments", upload, methods=["POST"], name="attachment_upload"),
    Route("/attachments/{id:int}/remove", remove, methods=["POST"], name="attachment_remove"),
    Route("/attachments/{id:int}/{filename}", download, methods=["GET"], name="attachment_file"),
]
