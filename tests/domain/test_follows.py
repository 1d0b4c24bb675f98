"""Following and muting groups, people and records: only channels one may see, and going back to
"none" always works.
"""

from __future__ import annotations

import pytest

from domain.db import Database
from domain.errors import NotFound, ValidationFailed
from domain.groups import membership
from domain.posts.follows import check_channel, do_follow, follow_state
from tests.conftest import UserFactory
from tests.domain.test_posts import act, external, make_group, read


async def test_follow_mute_and_back_to_none(db: Database, make_user: UserFactory) -> None:
    owner, staff = await make_user(), await make_user()
    group_id = await make_group(db, owner, "public")
    channel = f"group:{group_id}"
    assert await read(db, staff, follow_state, channel) == "none"
    await act(db, staff, do_follow, channel, "follow")
    await act(db, staff, do_follow, channel, "follow")
    assert await read(db, staff, follow_state, channel) == "follow"
    await act(db, staff, do_follow, channel, "mute")
    assert await read(db, staff, follow_state, channel) == "mute"
    assert await read(db, owner, follow_state, channel) == "none"
    await act(db, staff, do_follow, channel, "none")
    assert await read(db, staff, follow_state, channel) == "none"
    with pytest.raises(ValidationFailed):
        await act(db, staff, do_follow, channel, "love")


async def test_only_visible_channels_can_be_followed(db: Database, make_user: UserFactory) -> None:
    owner, staff = await make_user(), await make_user()
    customer, account_id = await external(db, make_user, "Acme")
    _, other_account = await external(db, make_user, "Other")
    private = await make_group(db, owner, "private")
    for channel in (
        f"group:{private}",
        "group:999999",
        "group:abc",
        "group:-1",
        "author:999999",
        "record:account:999999",
        "record:secret:1",
        "company",
        "tag:x",
        "",
    ):
        with pytest.raises(NotFound):
            await act(db, staff, do_follow, channel, "follow")
    assert await read(db, staff, check_channel, f"author:{owner.id}") == f"author:{owner.id}"
    await act(db, staff, do_follow, f"author:{customer.id}", "follow")  # staff: any active user
    await act(db, staff, do_follow, f"record:account:{other_account}", "mute")
    # A customer follows their own account's wall and fellow members, nothing else.
    await act(db, customer, do_follow, f"record:account:{account_id}", "follow")
    for channel in (f"record:account:{other_account}", f"author:{staff.id}"):
        with pytest.raises(NotFound):
            await act(db, customer, do_follow, channel, "follow")
    await act(db, owner, membership.do_add_member, private, staff.id)
    await act(db, staff, do_follow, f"group:{private}", "follow")
    # After leaving, the follow can still be undone.
    await act(db, staff, membership.do_leave_group, private)
    await act(db, staff, do_follow, f"group:{private}", "none")
    assert await read(db, staff, follow_state, f"group:{private}") == "none"
