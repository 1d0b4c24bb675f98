"""The house rules of ARCHITECTURE.md, checked on the source: the package import table (with
imports inside functions, too), a docstring on every module, and every template a route names
actually exists — along with what templates name in turn (other templates, routes)."""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import jinja2
import jinja2.meta
import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("portal", "domain", "realtime", "search", "widgets")
TEMPLATES = ROOT / "templates"

# Third-party libraries the domain may use besides SQLAlchemy: small and pure (no I/O of their
# own, no web, no framework). A new one is a decision: add it here, in the same change.
DOMAIN_LIBRARIES = frozenset({"sqlalchemy", "argon2", "faker", "markdown_it", "nh3", "babel"})

# What each package must not import: the table in ARCHITECTURE.md.
FORBIDDEN = {
    "domain": {"portal", "realtime", "search", "widgets", "starlette", "jinja2", "redis"},
    "search": {"portal", "realtime", "widgets", "starlette", "jinja2"},
    "realtime": {"portal", "search", "widgets", "jinja2"},
    "widgets": {"portal", "realtime", "starlette", "jinja2"},
    "portal": set(),
}


@dataclass(frozen=True)
class Import:
    module: str  # the dotted name, absolute
    path: Path
    line: int

    @property
    def top(self) -> str:
        return self.module.split(".")[0]

    def __str__(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line} imports {self.module}"


def modules(package: str) -> Iterator[Path]:
    yield from sorted((ROOT / package).rglob("*.py"))


def parse(path: Path) -> ast.Module:
    return ast.parse(path.read_text(), filename=str(path))


def package_of(path: Path) -> str:
    """The dotted package a module's relative imports start from."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts if parts[-1] == "__init__" and parts.pop() else parts[:-1])


def imports(path: Path, source: str | None = None) -> Iterator[Import]:
    """Every import in the module, at any depth (functions, ``if TYPE_CHECKING``, try), with
    relative ones made absolute, and ``importlib.import_module("x")`` counted too."""
    tree = ast.parse(path.read_text() if source is None else source, filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(alias.name, path, node.lineno)
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:
                base = package_of(path).split(".")
                base = base[: len(base) - (node.level - 1)]
                module = ".".join([*base, module] if module else base)
            yield Import(module, path, node.lineno)
        elif isinstance(node, ast.Call) and _dynamic_import(node):
            yield Import(node.args[0].value, path, node.lineno)  # type: ignore[attr-defined]


def _dynamic_import(call: ast.Call) -> bool:
    func = call.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
    return (
        name in ("import_module", "__import__")
        and bool(call.args)
        and isinstance(call.args[0], ast.Constant)
        and isinstance(call.args[0].value, str)
    )


def all_imports(package: str) -> list[Import]:
    return [found for path in modules(package) for found in imports(path)]


def test_the_walk_sees_every_kind_of_import() -> None:
    source = (
        '"""A module that breaks every rule, to check the checker."""\n'
        "import os\n"
        "def f():\n"
        "    from portal.app import create_app\n"
        "    import importlib\n"
        "    importlib.import_module('redis')\n"
        "class C:\n"
        "    def m(self):\n"
        "        from .models import User\n"
        "        from .. import errors\n"
        "        from ..records.org import Employee\n"
    )
    path = ROOT / "domain" / "people" / "sample.py"
    found = {i.module for i in imports(path, source)}
    assert found == {
        "os",
        "portal.app",
        "importlib",
        "redis",
        "domain.people.models",
        "domain",
        "domain.records.org",
    }
    assert package_of(ROOT / "domain" / "__init__.py") == "domain"
    assert package_of(ROOT / "domain" / "people" / "models.py") == "domain.people"


@pytest.mark.parametrize("package", [p for p in PACKAGES if p != "portal"])
def test_nothing_imports_portal(package: str) -> None:
    offending = [str(i) for i in all_imports(package) if i.top == "portal"]
    assert offending == [], "only portal itself, tests, bench and migrations import portal"


@pytest.mark.parametrize("package", PACKAGES)
def test_the_import_table(package: str) -> None:
    offending = [str(i) for i in all_imports(package) if i.top in FORBIDDEN[package]]
    assert offending == []


def test_domain_uses_only_the_standard_library_and_small_pure_libraries() -> None:
    allowed = set(sys.stdlib_module_names) | {"domain"} | DOMAIN_LIBRARIES
    offending = [str(i) for i in all_imports("domain") if i.top not in allowed]
    assert offending == [], (
        "the domain may import the standard library, SQLAlchemy and a few small pure "
        f"libraries ({', '.join(sorted(DOMAIN_LIBRARIES))})"
    )


@pytest.mark.parametrize("package", PACKAGES)
def test_every_module_has_a_docstring(package: str) -> None:
    missing = [
        str(path.relative_to(ROOT))
        for path in modules(package)
        if not (ast.get_docstring(parse(path)) or "").strip()
    ]
    assert missing == []


@pytest.mark.parametrize("package", PACKAGES)
def test_no_asyncio_wait_for(package: str) -> None:
    """On Python 3.11 ``asyncio.wait_for`` returns the result, dropping the cancellation, when
    the awaited thing completes in the same loop turn as a cancel: a background loop that waits
    on a wake-up that way can outlive its shutdown (it hung the test suite's app shutdown on a
    Redis wake-up). ``asyncio.timeout`` keeps the cancellation."""
    found = [
        f"{path.relative_to(ROOT)}:{node.lineno}"
        for path in modules(package)
        for node in ast.walk(parse(path))
        if isinstance(node, ast.Attribute)
        and node.attr == "wait_for"
        and isinstance(node.value, ast.Name)
        and node.value.id == "asyncio"
    ]
    assert found == [], "use `async with asyncio.timeout(...)` instead of asyncio.wait_for"


# --- templates -------------------------------------------------------------------------------


def template_names(node: ast.expr, scope: ast.AST) -> Iterator[str | None]:
    """The template names an expression can take: literals, conditional literals, and local
    variables assigned from those. ``None`` for a name that cannot be read from the source."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        yield node.value
    elif isinstance(node, ast.IfExp):
        yield from template_names(node.body, scope)
        yield from template_names(node.orelse, scope)
    elif isinstance(node, ast.Name):
        assigned = [
            n.value
            for n in ast.walk(scope)
            if isinstance(n, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == node.id for t in n.targets)
        ]
        if not assigned:
            yield None
        for value in assigned:
            yield from template_names(value, scope)
    else:
        yield None


def template_references() -> Iterator[tuple[str, str | None]]:
    """(where, template name) for every ``TemplateResponse(request, name, ...)`` call."""
    for package in PACKAGES:
        for path in modules(package):
            tree = parse(path)
            functions = [
                n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)
            ]
            for node in ast.walk(tree):
                if not (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "TemplateResponse"
                ):
                    continue
                name_arg = next((k.value for k in node.keywords if k.arg == "name"), None)
                if name_arg is None and len(node.args) >= 2:
                    name_arg = node.args[1]
                where = f"{path.relative_to(ROOT)}:{node.lineno}"
                if name_arg is None:
                    yield where, None
                    continue
                scope: ast.AST = next(
                    (
                        f
                        for f in functions
                        if f.lineno <= node.lineno <= (f.end_lineno or f.lineno)
                        and any(n is node for n in ast.walk(f))
                    ),
                    tree,
                )
                for name in template_names(name_arg, scope):
                    yield where, name


def test_every_template_a_route_renders_exists() -> None:
    references = list(template_references())
    assert references, "the walk found no TemplateResponse at all"
    missing = [
        f"{where}: {name}"
        for where, name in references
        if name and not (TEMPLATES / name).is_file()
    ]
    # A name computed at run time (a widget type's template, say) cannot be read here; the
    # registry that supplies it checks its own templates.
    assert missing == []


def jinja_environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES), extensions=["jinja2.ext.i18n"], autoescape=True
    )


def all_templates() -> list[str]:
    return sorted(
        str(p.relative_to(TEMPLATES)) for p in TEMPLATES.rglob("*") if p.suffix in (".html", ".xml")
    )


def test_every_template_compiles_and_what_it_includes_exists() -> None:
    env = jinja_environment()
    problems = []
    for name in all_templates():
        source = (TEMPLATES / name).read_text()
        try:
            tree = env.parse(source, name)
        except jinja2.TemplateSyntaxError as exc:
            problems.append(f"{name}:{exc.lineno}: {exc.message}")
            continue
        for referenced in jinja2.meta.find_referenced_templates(tree):
            if referenced is not None and not (TEMPLATES / referenced).is_file():
                problems.append(f"{name} includes missing {referenced}")
    assert problems == []


URL_FOR = re.compile(r"""url_for\(\s*['"]([^'"]+)['"]""")


def test_route_names_and_paths_are_unique(tmp_path: Path) -> None:
    """``url_for`` takes the first route of a name; a second one with that name or with the same
    path and method is dead code that looks alive."""
    from starlette.routing import Route

    from portal.app import create_app
    from portal.settings import Settings

    app = create_app(Settings.from_env({"ATRIUM_DATA_DIR": str(tmp_path)}))
    names = [getattr(route, "name", None) for route in app.routes]
    assert sorted({n for n in names if n and names.count(n) > 1}) == []
    endpoints = [
        (route.path, method)
        for route in app.routes
        if isinstance(route, Route)
        for method in sorted(route.methods or ())
    ]
    assert sorted({e for e in endpoints if endpoints.count(e) > 1}) == []


def test_every_route_name_a_template_links_to_exists(tmp_path: Path) -> None:
    """A ``url_for('name')`` of a route that does not exist is a 500 on every page using it."""
    from portal.app import create_app
    from portal.settings import Settings

    app = create_app(Settings.from_env({"ATRIUM_DATA_DIR": str(tmp_path)}))
    names = {getattr(route, "name", None) for route in app.routes}
    missing = [
        f"{template}: url_for({name!r})"
        for template in all_templates()
        for name in URL_FOR.findall((TEMPLATES / template).read_text())
        if name not in names
    ]
    assert missing == []
