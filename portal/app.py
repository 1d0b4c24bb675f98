"""The application factory: settings in, a wired Starlette app out.

Middleware, outermost first: security headers (and the CSP nonce), who is asking (session
cookie), which language, then CSRF on unsafe requests. All of it is pure ASGI.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.middleware import Middleware

from portal.auth.csrf import CSRFMiddleware
from portal.auth.guards import LoginRequired, login_required
from portal.auth.middleware import AuthMiddleware
from portal.errors import EXCEPTION_HANDLERS
from portal.lifespan import make_lifespan
from portal.live.cursor import LiveCursorMiddleware
from portal.middleware.locale import LocaleMiddleware
from portal.middleware.security import SecurityHeadersMiddleware
from portal.routes import all_routes
from portal.settings import Settings


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or Settings.from_env()
    handlers = {**EXCEPTION_HANDLERS, LoginRequired: login_required}
    app = Starlette(
        debug=False,
        routes=all_routes(),
        middleware=[
            Middleware(SecurityHeadersMiddleware),
            Middleware(LiveCursorMiddleware),
            Middleware(AuthMiddleware),
            Middleware(LocaleMiddleware),
            Middleware(CSRFMiddleware),
        ],
        exception_handlers=handlers,
        lifespan=make_lifespan(settings),
    )
    app.state.settings = settings
    return app
