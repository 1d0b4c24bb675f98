"""Marking user-facing strings in the domain for translation.

The domain cannot know the reader's language, so it raises messages in English wrapped in ``N_``;
pybabel extracts them, and the web layer translates them when it renders.
"""

from __future__ import annotations


def N_(message: str) -> str:
    return message
