"""The long-lived resources the lifespan opens, typed, and how a request reaches them.

Starlette copies the lifespan's state into every request's ``scope["state"]``; these helpers are
the one way routes and middleware read it.
"""

from __future__ import annotations

from typing import Any, TypedDict

from starlette.requests import HTTPConnection
from starlette.templating import Jinja2Templates

from domain.access import Principal
from domain.db import Database
from domain.people.actions import SignInLimits
from domain.people.models import User
from portal.settings import Settings
from realtime.hub import Hub
from realtime.pubsub import PubSub
from search.index import SearchIndex
from search.indexer import Indexer


class AppState(TypedDict):
    settings: Settings
    db: Database
    pubsub: PubSub
    search: SearchIndex
    templates: Jinja2Templates
    hub: Hub
    search_indexer: Indexer


def app_state(conn: HTTPConnection) -> AppState:
    state: Any = conn.scope.get("state")
    if not state or "db" not in state:
        raise RuntimeError("Atrium's lifespan has not run: its resources are missing")
    return state  # type: ignore[no-any-return]


def principal_of(conn: HTTPConnection) -> Principal | None:
    value: Principal | None = conn.scope.get("state", {}).get("principal")
    return value


def user_of(conn: HTTPConnection) -> User | None:
    value: User | None = conn.scope.get("state", {}).get("user")
    return value


def session_token_of(conn: HTTPConnection) -> str | None:
    value: str | None = conn.scope.get("state", {}).get("session_token")
    return value


def csrf_token_of(conn: HTTPConnection) -> str:
    value: str = conn.scope.get("state", {}).get("csrf_token", "")
    return value


def client_ip(conn: HTTPConnection) -> str:
    """The address a request came from (as uvicorn's proxy headers set it)."""
    return conn.client.host if conn.client else "unknown"


def sign_in_limits(conn: HTTPConnection) -> SignInLimits:
    """The failed-attempt limits for a password check: signing in, or changing the password."""
    return SignInLimits(per_ip=app_state(conn)["settings"].login_ip_limit)
