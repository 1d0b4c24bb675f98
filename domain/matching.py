"""Text search conditions in SQL: "any of these columns contains the words typed", the same for
every list, picker and autocomplete.

One place, because each copy must get the same three things right: LIKE wildcards typed by a
person are taken literally, case is ignored on both databases, and NUL is dropped (PostgreSQL
refuses it in text, so a hand-made URL carrying one would otherwise be a 500).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, func, or_, true

TERM_MAX = 200


def clean_term(text: str, limit: int = TERM_MAX) -> str:
    """The typed text as a search term: no NUL, trimmed, lowercased, at most ``limit`` long."""
    return text.replace("\x00", "").strip().lower()[:limit]


def like_escape(term: str) -> str:
    """``term`` with LIKE's wildcards escaped (for ``like(..., escape="\\\\")``)."""
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def contains(text: str, *columns: Any, limit: int = TERM_MAX) -> ColumnElement[bool] | None:
    """Any of the columns contains the text, case-insensitively; None for a blank text."""
    term = clean_term(text, limit)
    if not term:
        return None
    pattern = f"%{like_escape(term)}%"
    return or_(*[func.lower(c).like(pattern, escape="\\") for c in columns])


def contains_or_all(text: str, *columns: Any, limit: int = TERM_MAX) -> ColumnElement[bool]:
    """``contains``, for a list that shows every row when nothing is typed."""
    found = contains(text, *columns, limit=limit)
    return found if found is not None else true()
