"""Pure ASGI middleware (no BaseHTTPMiddleware): security headers, locale, body limits."""
