"""Errors the domain raises; the web layer maps each to one HTTP status and message."""

from __future__ import annotations


class DomainError(Exception):
    """Base of every error a domain action or query raises on purpose."""


class NotFound(DomainError):
    """The object does not exist, or the caller may not see it: the two are indistinguishable."""


class Forbidden(DomainError):
    """The caller may see the object but not do this to it."""


class ValidationFailed(DomainError):
    """Input broke a rule. ``errors`` maps a field name (or ``""`` for the whole form) to a
    message fit to show the user."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k or 'form'}: {v}" for k, v in errors.items()))
        self.errors = errors


class Throttled(DomainError):
    """Too many attempts; try again after ``retry_after`` seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"retry after {retry_after} s")
        self.retry_after = retry_after
