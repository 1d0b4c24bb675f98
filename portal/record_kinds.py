"""The record kinds as they appear in URLs (``/records/accounts``, ``/api/v1/invoices``), shared
by the HTML pages, the JSON API, exports and imports so the names never drift apart."""

from __future__ import annotations

from domain.errors import NotFound
from domain.records.audience import RecordKind

SLUGS: dict[str, RecordKind] = {
    "accounts": RecordKind.ACCOUNT,
    "contacts": RecordKind.CONTACT,
    "projects": RecordKind.PROJECT,
    "employees": RecordKind.EMPLOYEE,
    "invoices": RecordKind.INVOICE,
    "items": RecordKind.ITEM,
}
SLUG_OF: dict[RecordKind, str] = {kind: slug for slug, kind in SLUGS.items()}


def kind_from_slug(slug: str) -> RecordKind:
    """The kind named in a URL; an unknown name is a page that does not exist."""
    try:
        return SLUGS[slug]
    except KeyError:
        raise NotFound(slug) from None
