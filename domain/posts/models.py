"""Posts and everything hanging off them: comments, edit history, reactions, polls, attachments,
linked records, and the two index tables every timeline reads.

Two index tables, because "who may see a post" and "where does a post appear" are different
questions:

- ``post_audiences`` (token, post): who may see it — the tokens of ``domain.access``. A post in a
  public group is seen by ``role:employee`` and ``group:<id>``; in a private or hidden group by
  ``group:<id>``; on the company timeline by ``role:employee``; sent to people by their ``user:``
  tokens. The author's ``user:`` token is always there. Comments, reactions and votes inherit the
  post's audience.
- ``post_channels`` (channel, post): where it appears, so a timeline is one keyset scan — the
  group (``group:7``), the author (``author:42``), each linked record (``record:account:31``),
  each hashtag (``tag:release``), each mentioned person (``mention:42``), each addressee
  (``to:42``), and ``company`` or ``news``. A timeline query asks "channels in mine AND audience
  meets my tokens"; neither alone is enough.

Bodies are stored as written (``body``) and as rendered by ``domain.markup`` (``body_html``), so a
timeline never re-renders markdown. Counts shown on every post (comments, reactions by kind) are
kept on the post row, updated under a row lock by the actions that change them, so a page of posts
needs no aggregate query.

``client_key`` makes posting idempotent: a form carries a random key, and a second submit with the
same key (a double click, a retried request) returns the first post instead of making another.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from domain.db import Base, UTCDateTime, str_enum, utcnow

CLIENT_KEY_MAX = 64
CHANNEL_MAX = 80
FILENAME_MAX = 255


class PostKind(enum.StrEnum):
    POST = "post"
    NEWS = "news"  # a company announcement: admins and the communication role only


class Post(Base):
    __tablename__ = "posts"
    __table_args__ = (
        UniqueConstraint("author_id", "client_key", name="uq_posts_author_client_key"),
        Index("ix_posts_group_pinned", "group_id", "pinned_at"),
        Index("ix_posts_kind_news_until", "kind", "news_until"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[PostKind] = mapped_column(str_enum(PostKind, 16), default=PostKind.POST)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    group_id: Mapped[int | None] = mapped_column(
        ForeignKey("groups.id", ondelete="CASCADE"), index=True
    )
    # A share: this post passes another one on, with the sharer's own words in ``body``.
    shared_post_id: Mapped[int | None] = mapped_column(
        ForeignKey("posts.id", ondelete="SET NULL"), index=True
    )
    body: Mapped[str] = mapped_column(Text, default="")
    body_html: Mapped[str] = mapped_column(Text, default="")
    # News is shown above the timeline until this moment.
    news_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    pinned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    comment_count: Mapped[int] = mapped_column(Integer, default=0)
    # {"like": 3, "thanks": 1}: kept by the reaction actions.
    reaction_counts: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    client_key: Mapped[str | None] = mapped_column(String(CLIENT_KEY_MAX))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    edited_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set when someone other than the author (a moderator) deleted it.
    deleted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None


class PostRecipient(Base):
    """A person a post was sent to directly (a share to a person)."""

    __tablename__ = "post_recipients"

    post_id: Mapped[int] = mapped_column(
        ForeignKey("posts.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class PostAudience(Base):
    __tablename__ = "post_audiences"
    # The key serves "may these tokens see post P" (a probe per post while walking a timeline);
    # the index serves "the posts these few tokens see" (a customer's sparse timeline).
    __table_args__ = (Index("ix_post_audiences_token_post", "token", "post_id"),)

    post_id: Mapped[int] = mapped_column(
        ForeignKey("posts.id", ondelete="CASCADE"), primary_key=True
    )
    token: Mapped[str] = mapped_column(String(64), primary_key=True)


class PostChannel(Base):
    __tablename__ = "post_channels"
    # The key serves a one-channel timeline walked in id order (group, wall, hashtag, person);
    # the index serves "is post P in one of my channels" while walking the personal timeline.
    __table_args__ = (Index("ix_post_channels_post_channel", "post_id", "channel"),)

    channel: Mapped[str] = mapped_column(String(CHANNEL_MAX), primary_key=True)
    post_id: Mapped[int] = mapped_column(
        ForeignKey("posts.id", ondelete="CASCADE"), primary_key=True
    )


class PostRecord(Base):
    """An ERP record linked to a post: shown as its card to readers who may see the record."""

    __tablename__ = "post_records"

    post_id: Mapped[int] = mapped_column(
        ForeignKey("posts.id", ondelete="CASCADE"), primary_key=True
    )
    record_kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    record_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    position: Mapped[int] = mapped_column(Integer, default=0)


class Comment(Base):
    __tablename__ = "comments"
    __table_args__ = (
        UniqueConstraint("author_id", "client_key", name="uq_comments_author_client_key"),
        Index("ix_comments_post_id_id", "post_id", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"))
    # One level of replies: a reply's parent is a top-level comment.
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("comments.id", ondelete="CASCADE"), index=True
    )
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    body: Mapped[str] = mapped_column(Text, default="")
    body_html: Mapped[str] = mapped_column(Text, default="")
    client_key: Mapped[str | None] = mapped_column(String(CLIENT_KEY_MAX))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    edited_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deleted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None


class Revision(Base):
    """An earlier version of a post's or comment's text, kept when it was edited."""

    __tablename__ = "revisions"
    __table_args__ = (
        CheckConstraint("(post_id IS NULL) <> (comment_id IS NULL)", name="post_or_comment"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    post_id: Mapped[int | None] = mapped_column(
        ForeignKey("posts.id", ondelete="CASCADE"), index=True
    )
    comment_id: Mapped[int | None] = mapped_column(
        ForeignKey("comments.id", ondelete="CASCADE"), index=True
    )
    body: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    # When this version was written (the post's or an earlier edit's time).
    written_at: Mapped[datetime] = mapped_column(UTCDateTime)
    replaced_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    editor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class ReactionKind(enum.StrEnum):
    LIKE = "like"
    CELEBRATE = "celebrate"
    THANKS = "thanks"
    INSIGHTFUL = "insightful"
    SUPPORT = "support"
    FUNNY = "funny"


class Reaction(Base):
    """One person's reaction to a post: one kind per person and post."""

    __tablename__ = "reactions"

    post_id: Mapped[int] = mapped_column(
        ForeignKey("posts.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    kind: Mapped[ReactionKind] = mapped_column(str_enum(ReactionKind, 16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PollKind(enum.StrEnum):
    SINGLE = "single"
    MULTIPLE = "multiple"
    SCALE = "scale"  # options are the points of the scale, "1" … "5"


class PollResults(enum.StrEnum):
    AFTER_VOTE = "after_vote"
    AFTER_CLOSE = "after_close"


class Poll(Base):
    __tablename__ = "polls"

    post_id: Mapped[int] = mapped_column(
        ForeignKey("posts.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[PollKind] = mapped_column(str_enum(PollKind, 16))
    results: Mapped[PollResults] = mapped_column(str_enum(PollResults, 16))
    closes_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    voter_count: Mapped[int] = mapped_column(Integer, default=0)


class PollOption(Base):
    __tablename__ = "poll_options"
    __table_args__ = (Index("ix_poll_options_post_position", "post_id", "position"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("polls.post_id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    label: Mapped[str] = mapped_column(String(200))
    vote_count: Mapped[int] = mapped_column(Integer, default=0)


class PollVote(Base):
    __tablename__ = "poll_votes"
    __table_args__ = (Index("ix_poll_votes_post_user", "post_id", "user_id"),)

    option_id: Mapped[int] = mapped_column(
        ForeignKey("poll_options.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    post_id: Mapped[int] = mapped_column(ForeignKey("polls.post_id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Attachment(Base):
    """A file attached to a post, stored in the data dir under ``storage_key``.

    Uploaded before the post exists (``post_id`` is NULL until the post is made), so a form can
    show previews; an upload never attached is pruned.
    """

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    post_id: Mapped[int | None] = mapped_column(
        ForeignKey("posts.id", ondelete="CASCADE"), index=True
    )
    uploader_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    filename: Mapped[str] = mapped_column(String(FILENAME_MAX))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(100), unique=True)
    is_image: Mapped[bool] = mapped_column(Boolean, default=False)
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    position: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Follow(Base):
    """A person follows (``muted`` false) or mutes (``muted`` true) a channel: a group, a person
    (``author:<id>``) or a record (``record:<kind>:<id>``)."""

    __tablename__ = "follows"
    # Who follows or mutes a post's channels (the live "new posts" bar asks once per new post).
    __table_args__ = (Index("ix_follows_channel_user", "channel", "user_id"),)

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    channel: Mapped[str] = mapped_column(String(CHANNEL_MAX), primary_key=True)
    muted: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
