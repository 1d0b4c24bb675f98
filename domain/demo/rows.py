"""The shared words of the demo builders: rows, the whole company as rows, and a clock.

A row is a plain dict keyed by column name, ready for a bulk ``insert(Model)``. Builders assign
every id themselves, so the whole company is built in memory first and written in a handful of
statements, without a round trip per object.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

Row = dict[str, Any]


@dataclass
class DemoData:
    """Every table's rows, in the order they can be written without breaking a foreign key.

    Departments are written without their manager first (departments and employees refer to each
    other); ``department_managers`` sets them once the employees exist.
    """

    users: list[Row] = field(default_factory=list)
    user_roles: list[Row] = field(default_factory=list)
    departments: list[Row] = field(default_factory=list)
    employees: list[Row] = field(default_factory=list)
    department_managers: list[Row] = field(default_factory=list)
    employee_skills: list[Row] = field(default_factory=list)
    accounts: list[Row] = field(default_factory=list)
    contacts: list[Row] = field(default_factory=list)
    items: list[Row] = field(default_factory=list)
    projects: list[Row] = field(default_factory=list)
    project_members: list[Row] = field(default_factory=list)
    project_partners: list[Row] = field(default_factory=list)
    invoices: list[Row] = field(default_factory=list)
    invoice_lines: list[Row] = field(default_factory=list)
    payments: list[Row] = field(default_factory=list)


def words(text: str) -> tuple[str, ...]:
    """Split "a; b; c" into ("a", "b", "c"): long word lists stay readable in the source."""
    return tuple(word.strip() for word in text.split(";"))


def moment(day: date, hour: int = 9, minute: int = 0) -> datetime:
    """An aware UTC timestamp on ``day``, for the columns that need one.

    Timestamps are derived from the demo's ``today`` rather than the wall clock, so two loads for
    the same day write identical rows.
    """
    return datetime.combine(day, time(hour, minute), tzinfo=UTC)


def business_day(day: date) -> date:
    """``day``, or the Friday before it when it falls in a weekend."""
    weekday = day.weekday()
    return day - timedelta(days=weekday - 4) if weekday > 4 else day
