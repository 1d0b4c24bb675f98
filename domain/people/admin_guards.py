"""What every administration action checks first, in one place for the user and the portal-access
actions: the actor is an administrator on the staff — anyone else is told "not found", the same
answer as for a user or contact that does not exist, so a page that forgets its guard still leaks
nothing; an id from a URL is one an integer column can hold; text holds no NUL character; and a
new login's email address is taken once, even when two administrators race for it.
"""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from domain.access import Principal
from domain.errors import NotFound, ValidationFailed
from domain.people.actions import do_create_user
from domain.people.models import Role, User, UserKind
from domain.text import N_

NUL_MESSAGES = {
    "email": N_("Enter a valid email address."),
    "name": N_("This field must be text."),
}
EMAIL_TAKEN = N_("A user with this email address already exists.")
# The longest search text the administration's lists take; longer ones are cut.
SEARCH_MAX = 100


def check_admin(principal: Principal) -> None:
    """Administration answers "not found" to anyone but an administrator on the staff."""
    if not (principal.is_staff and principal.is_admin):
        raise NotFound("administration")


def check_id(value: int, what: str) -> None:
    # Ids come from URLs; one beyond any integer column is simply not there (PostgreSQL would
    # otherwise refuse the query itself).
    if not 0 < value < 2**31:
        raise NotFound(f"{what} {value}")


def refuse_nul(**fields: str) -> None:
    """PostgreSQL stores no NUL character, and no person types one: a value holding it is
    refused here, before it reaches a query as a server error."""
    errors = {name: NUL_MESSAGES[name] for name, value in fields.items() if "\x00" in value}
    if errors:
        raise ValidationFailed(errors)


async def create_user(
    session: AsyncSession,
    *,
    email: str,
    name: str,
    password: str,
    kind: UserKind,
    roles: frozenset[Role] = frozenset(),
    language: str | None = None,
) -> User:
    """``do_create_user`` in a savepoint: two admins taking one email address at once (possible
    on PostgreSQL) get the same message as when it was taken before, not a server error."""
    try:
        async with session.begin_nested():
            return await do_create_user(
                session,
                email=email,
                name=name,
                password=password,
                kind=kind,
                roles=roles,
                language=language,
            )
    except IntegrityError:
        raise ValidationFailed({"email": EMAIL_TAKEN}) from None
