"""The cookies Atrium sets, built in one place so their flags never drift apart.

``atrium_session`` holds a signed-in browser's session token; ``atrium_anon`` gives an anonymous
browser a stable value to bind its CSRF token to (so the login form is protected too). Both are
HttpOnly and SameSite=Lax, and Secure whenever the request came over https.
"""

from __future__ import annotations

from http.cookies import SimpleCookie

SESSION_COOKIE = "atrium_session"
ANON_COOKIE = "atrium_anon"
SESSION_MAX_AGE = 14 * 24 * 3600
ANON_MAX_AGE = 24 * 3600


def cookie_header(name: str, value: str, *, max_age: int, secure: bool) -> str:
    cookie: SimpleCookie = SimpleCookie()
    cookie[name] = value
    morsel = cookie[name]
    morsel["path"] = "/"
    morsel["max-age"] = max_age
    morsel["httponly"] = True
    morsel["samesite"] = "Lax"
    if secure:
        morsel["secure"] = True
    return morsel.OutputString()


def clear_cookie_header(name: str, *, secure: bool) -> str:
    return cookie_header(name, "", max_age=0, secure=secure)
