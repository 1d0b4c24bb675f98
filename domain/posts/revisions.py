"""Edit history: replacing the text of a post or a comment keeps the earlier text as a revision.

Posts and comments are edited the same way; this is that one way, so both keep the same history
(``written_at`` of a revision is when that text was written: the item's creation or last edit).
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from domain.db import utcnow
from domain.posts.models import Comment, Post, Revision


def replace_text(
    session: AsyncSession, item: Post | Comment, body: str, body_html: str, editor_id: int
) -> None:
    """Keep the item's current text as a revision, then give it the new one."""
    now = utcnow()
    is_post = isinstance(item, Post)
    session.add(
        Revision(
            post_id=item.id if is_post else None,
            comment_id=None if is_post else item.id,
            body=item.body,
            body_html=item.body_html,
            written_at=item.edited_at or item.created_at,
            replaced_at=now,
            editor_id=editor_id,
        )
    )
    item.body, item.body_html, item.edited_at = body, body_html, now
