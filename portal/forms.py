"""Reading submitted forms safely: only text fields, bounded lengths, errors per field.

A form with an oversized or non-text field is not an exception: the caller re-renders the form
with the messages this returns, and answers with a 4xx.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from starlette.datastructures import FormData
from starlette.requests import Request

from domain.text import N_

TOO_LONG = N_("This value is too long.")
NOT_TEXT = N_("This field must be text.")
REQUIRED = N_("This field is required.")


@dataclass
class FormInput:
    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors


async def read_form(
    request: Request, limits: dict[str, int], *, required: tuple[str, ...] = ()
) -> FormInput:
    """Read the named text fields, each at most ``limits[name]`` characters."""
    form: FormData = await request.form(max_files=0, max_fields=50)
    result = FormInput()
    try:
        for name, limit in limits.items():
            raw = form.get(name)
            if raw is None:
                value = ""
            elif not isinstance(raw, str):
                result.errors[name] = NOT_TEXT
                continue
            else:
                value = raw
            if len(value) > limit:
                result.errors[name] = TOO_LONG
                value = value[:limit]
            result.values[name] = value
            if name in required and not value.strip() and name not in result.errors:
                result.errors[name] = REQUIRED
    finally:
        await form.close()
    return result
