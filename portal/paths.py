"""``path_for``: the path of a named route with whole-number parameters, for templates that
render many of them (a timeline page has twenty posts with a dozen links and forms each).

Starlette's ``url_for`` walks the whole route table on every call; at ~400 calls a page that was
most of the rendering time. This asks the router once per route name and parameter names, with
sentinel numbers in place of the values, keeps the answer as a pattern, and fills it in after.
Only for routes whose parameters are all ``:int`` (it fails loudly otherwise), so a path that
needs quoting never goes through here. The result is a site path, like ``url_for(...).path``.
"""

from __future__ import annotations

from typing import Any

from jinja2 import pass_context
from jinja2.runtime import Context

_SENTINEL = 1_987_654_301
_patterns: dict[tuple[int, str, tuple[str, ...]], tuple[str, tuple[str, ...]]] = {}


def _pattern(router: Any, name: str, names: tuple[str, ...]) -> tuple[str, tuple[str, ...]]:
    key = (id(router), name, names)
    found = _patterns.get(key)
    if found is None:
        sentinels = {n: _SENTINEL + i for i, n in enumerate(names)}
        path = str(router.url_path_for(name, **sentinels))
        pieces = path.replace("{", "{{").replace("}", "}}")
        for n, value in sentinels.items():
            if pieces.count(str(value)) != 1:
                raise TypeError(f"path_for({name!r}): parameter {n!r} is not a plain number")
            pieces = pieces.replace(str(value), "{" + n + "}")
        found = _patterns[key] = (pieces, names)
    return found


def route_path(router: Any, name: str, **params: int) -> str:
    for key, value in params.items():
        if type(value) is not int:
            raise TypeError(f"path_for({name!r}): {key}={value!r} is not an int")
    pattern, _names = _pattern(router, name, tuple(sorted(params)))
    return pattern.format(**params)


@pass_context
def path_for(context: Context, name: str, **params: int) -> str:
    """``url_for(name, **params).path`` for whole-number parameters, cached per route."""
    return route_path(context["request"].scope["router"], name, **params)
