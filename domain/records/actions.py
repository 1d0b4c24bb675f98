"""Editing records from their cards: validate (``check_update_*``), then change, log every
changed field in the Data Log, recompute audiences the change affects, and record an event — all
in the caller's one transaction (``do_update_*``).

Only staff edit records. Values arrive as text (forms, JSON) and are parsed here, so every channel
gets the same messages.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.access import Principal
from domain.errors import Forbidden, ValidationFailed
from domain.events import RecordUpdated, record_event
from domain.records import audience
from domain.records.audience import RecordAudience, RecordKind
from domain.records.datalog import log_changes
from domain.records.org import Employee
from domain.records.projects import ProjectStatus
from domain.records.queries import access_account, access_contact, access_project
from domain.text import N_

_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_VAT_RE = re.compile(r"^[A-Z]{2}[0-9A-Z]{2,13}$")

Parser = Callable[[str], Any]


def _text(required: bool = False, max_length: int = 200) -> Parser:
    def parse(raw: str) -> str | None:
        value = " ".join(raw.split())
        if not value:
            if required:
                raise ValueError(N_("This field is required."))
            return None
        if len(value) > max_length:
            raise ValueError(N_("This value is too long."))
        return value

    return parse


def _long_text(raw: str) -> str | None:
    value = raw.strip()
    if len(value) > 5000:
        raise ValueError(N_("This value is too long."))
    return value or None


def _email(raw: str) -> str | None:
    value = raw.strip().lower()
    if not value:
        return None
    if len(value) > 254 or not _EMAIL_RE.match(value):
        raise ValueError(N_("Enter a valid email address."))
    return value


def _phone(raw: str) -> str | None:
    value = raw.strip()
    if value and (len(value) > 40 or not re.fullmatch(r"[0-9+()\-. /]{6,40}", value)):
        raise ValueError(N_("Enter a valid phone number."))
    return value or None


def _country(raw: str) -> str:
    value = raw.strip().upper()
    if not re.fullmatch(r"[A-Z]{2}", value):
        raise ValueError(N_("Use a two-letter country code, such as NL."))
    return value


def _vat(raw: str) -> str | None:
    value = raw.replace(" ", "").replace(".", "").upper()
    if value and not _VAT_RE.match(value):
        raise ValueError(N_("Enter a VAT number such as NL123456789B01."))
    return value or None


def _cents(raw: str) -> int:
    """An amount in euros as typed by a Dutch or an English speaker: "1250", "1250,50",
    "1.250,50", "1,250.50". A lone separator followed by exactly three digits is a thousands
    separator ("1.250" and "1,250" are both 1250); with one or two digits it is the decimal mark."""
    text = raw.strip().replace("€", "").replace(" ", "").replace("\u00a0", "")
    if not re.fullmatch(r"[0-9.,]+", text) or not any(c.isdigit() for c in text):
        raise ValueError(N_("Enter an amount such as 1250.00."))
    last = max(text.rfind(","), text.rfind("."))
    decimals = ""
    if last >= 0:
        tail = text[last + 1 :]
        separators = {c for c in text if c in ",."}
        if len(separators) == 2 or (len(tail) in (1, 2) and text.count(text[last]) == 1):
            decimals = tail
            text = text[:last]
        elif len(tail) != 3:
            raise ValueError(N_("Enter an amount such as 1250.00."))
    whole = text.replace(".", "").replace(",", "")
    if not whole.isdigit() or (not decimals.isdigit() and decimals):
        raise ValueError(N_("Enter an amount such as 1250.00."))
    value = int(whole) * 100 + int((decimals + "0")[:2] or 0)
    if value >= 10**13:
        raise ValueError(N_("Enter an amount such as 1250.00."))
    return value


def _whole(raw: str) -> int:
    try:
        value = int(raw.strip())
    except ValueError:
        raise ValueError(N_("Expected a whole number.")) from None
    if not 0 <= value < 10**9:
        raise ValueError(N_("Expected a whole number."))
    return value


def _day(raw: str) -> date | None:
    if not raw.strip():
        return None
    try:
        return date.fromisoformat(raw.strip())
    except ValueError:
        raise ValueError(N_("Expected a date like 2026-01-31.")) from None


def _status(raw: str) -> ProjectStatus:
    try:
        return ProjectStatus(raw.strip())
    except ValueError:
        raise ValueError(N_("This is not one of the allowed values.")) from None


def _employee_id(raw: str) -> int | None:
    if not raw.strip():
        return None
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(N_("Choose an employee.")) from None
    # Ids are 32-bit: a larger or negative number names nobody, and would overflow the driver.
    if not 0 < value < 2**31:
        raise ValueError(N_("Choose an employee."))
    return value


ACCOUNT_FIELDS: dict[str, Parser] = {
    "name": _text(required=True),
    "city": _text(max_length=120),
    "country": _country,
    "vat_number": _vat,
    "credit_limit_cents": _cents,
    "account_manager_id": _employee_id,
}
CONTACT_FIELDS: dict[str, Parser] = {
    "name": _text(required=True),
    "job_title": _text(max_length=120),
    "email": _email,
    "phone": _phone,
}
PROJECT_FIELDS: dict[str, Parser] = {
    "name": _text(required=True),
    "status": _status,
    "manager_id": _employee_id,
    "start_date": _day,
    "end_date": _day,
    "budget_hours": _whole,
    "budget_cents": _cents,
    "description": _long_text,
}


def _check_staff(principal: Principal) -> None:
    if not principal.is_staff:
        raise Forbidden("only staff edit records")


async def _parse(
    session: AsyncSession, spec: Mapping[str, Parser], values: Mapping[str, str]
) -> dict[str, Any]:
    """Parse the submitted fields that the spec knows; any error fails the whole edit."""
    parsed: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name, raw in values.items():
        if name not in spec:
            continue
        if not isinstance(raw, str):
            errors[name] = N_("This field must be text.")
            continue
        if "\x00" in raw:  # PostgreSQL refuses NUL in text; only a hand-made request sends it
            errors[name] = N_("This value contains characters that are not allowed.")
            continue
        try:
            parsed[name] = spec[name](raw)
        except ValueError as exc:
            errors[name] = str(exc.args[0])
    for name in ("account_manager_id", "manager_id"):
        if parsed.get(name) is not None and await session.get(Employee, parsed[name]) is None:
            errors[name] = N_("Choose an employee.")
    if errors:
        raise ValidationFailed(errors)
    return parsed


def _apply(record: Any, parsed: Mapping[str, Any]) -> dict[str, tuple[Any, Any]]:
    changes: dict[str, tuple[Any, Any]] = {}
    for name, new in parsed.items():
        old = getattr(record, name)
        if old != new:
            changes[name] = (old, new)
            setattr(record, name, new)
    return changes


async def _finish(
    session: AsyncSession,
    principal: Principal,
    kind: RecordKind,
    record_id: int,
    changes: dict[str, tuple[Any, Any]],
    now: datetime,
) -> None:
    if not changes:
        return
    log_changes(session, kind.value, record_id, changes, principal.user_id, now)
    await session.flush()
    tokens = (
        await session.scalars(
            select(RecordAudience.token).where(
                RecordAudience.kind == kind.value, RecordAudience.record_id == record_id
            )
        )
    ).all()
    await record_event(
        session,
        RecordUpdated(kind.value, record_id, tuple(sorted(changes))),
        tokens,
        actor_id=principal.user_id,
        now=now,
    )


async def _update(
    session: AsyncSession,
    principal: Principal,
    kind: RecordKind,
    record: Any,
    parsed: Mapping[str, Any],
    now: datetime,
    *,
    manager_field: str | None = None,
) -> dict[str, tuple[Any, Any]]:
    """Apply parsed values to a loaded record and finish the edit. A change of
    ``manager_field`` changes which records the old and the new manager may see."""
    changes = _apply(record, parsed)
    if manager_field is not None and manager_field in changes:
        await session.flush()
        old, new = changes[manager_field]
        await audience.refresh(session, RecordKind.EMPLOYEE, [i for i in (old, new) if i])
    await _finish(session, principal, kind, record.id, changes, now)
    return changes


async def do_update_account(
    session: AsyncSession,
    principal: Principal,
    account_id: int,
    values: Mapping[str, str],
    now: datetime,
) -> dict[str, tuple[Any, Any]]:
    _check_staff(principal)
    account = await access_account(session, principal, account_id)
    parsed = await _parse(session, ACCOUNT_FIELDS, values)
    return await _update(
        session,
        principal,
        RecordKind.ACCOUNT,
        account,
        parsed,
        now,
        manager_field="account_manager_id",
    )


async def do_update_contact(
    session: AsyncSession,
    principal: Principal,
    contact_id: int,
    values: Mapping[str, str],
    now: datetime,
) -> dict[str, tuple[Any, Any]]:
    _check_staff(principal)
    contact = await access_contact(session, principal, contact_id)
    parsed = await _parse(session, CONTACT_FIELDS, values)
    return await _update(session, principal, RecordKind.CONTACT, contact, parsed, now)


async def do_update_project(
    session: AsyncSession,
    principal: Principal,
    project_id: int,
    values: Mapping[str, str],
    now: datetime,
) -> dict[str, tuple[Any, Any]]:
    _check_staff(principal)
    project = await access_project(session, principal, project_id)
    parsed = await _parse(session, PROJECT_FIELDS, values)
    start = parsed.get("start_date", project.start_date)
    end = parsed.get("end_date", project.end_date)
    if start and end and end < start:
        raise ValidationFailed({"end_date": N_("The end date is before the start date.")})
    return await _update(
        session, principal, RecordKind.PROJECT, project, parsed, now, manager_field="manager_id"
    )
