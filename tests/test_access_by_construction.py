"""Records reach users only through the domain's access functions.

The web layer may not query the database itself: no SQLAlchemy query verbs, no
``session.get(...)`` or ``session.execute(...)`` in portal/ outside the few modules that own
infrastructure. Every read for a user goes through ``access_<kind>`` or an
audience-filtered domain query, so a forgotten filter cannot leak a record.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Modules whose job is infrastructure, not reading records for a user.
INFRASTRUCTURE = {"portal/routes/health.py", "portal/migrate.py"}
QUERY_CALLS = {"select", "get", "execute", "scalar", "scalars"}


def portal_modules() -> list[Path]:
    return sorted((ROOT / "portal").rglob("*.py"))


def test_portal_runs_no_queries_of_its_own() -> None:
    offenders = []
    for path in portal_modules():
        relative = str(path.relative_to(ROOT))
        if relative in INFRASTRUCTURE:
            continue
        tree = ast.parse(path.read_text(), filename=relative)
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module == "sqlalchemy":
                names = {alias.name for alias in node.names}
                if names & {"select", "text", "update", "delete", "insert"}:
                    offenders.append(f"{relative}:{node.lineno} imports sqlalchemy query verbs")
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in QUERY_CALLS
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "session"
            ):
                offenders.append(f"{relative}:{node.lineno} session.{node.func.attr}(...)")
    assert not offenders, "portal/ queries the database itself:\n" + "\n".join(offenders)
