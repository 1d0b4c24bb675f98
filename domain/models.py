"""Imports every area's models so that ``Base.metadata`` is complete (Alembic, tests)."""

from domain import events
from domain.db import Base
from domain.groups import models as groups_models
from domain.people import models as people_models
from domain.posts import models as posts_models
from domain.records import audience, datalog
from domain.records import models as records_models

metadata = Base.metadata

__all__ = [
    "audience",
    "datalog",
    "events",
    "groups_models",
    "metadata",
    "people_models",
    "posts_models",
    "records_models",
]
