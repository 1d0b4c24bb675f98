"""The hub with a stand-in render function: who gets which event, replay, reload, revocation,
slow clients, heartbeats. The log is real (both backends); sockets are ``Connection`` objects
read directly."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Collection, Sequence
from datetime import timedelta

from domain.access import Principal
from domain.db import Database, utcnow
from domain.events import (
    GroupMembershipChanged,
    RecordUpdated,
    UserAccessChanged,
    record_event,
)
from domain.people.models import UserKind
from realtime.connection import GONE, REVOKED, SLOW, Connection
from realtime.hub import HEARTBEAT, Frames, Hub, Timing
from realtime.relay import LoggedEvent, Relay, prune_events
from realtime.wire import encode_text


def person(user_id: int, *tokens: str) -> Principal:
    return Principal(
        user_id=user_id,
        name=f"user {user_id}",
        kind=UserKind.STAFF,
        tokens=frozenset({f"user:{user_id}", *tokens}),
    )


class Stage:
    """A hub over the real log, with a render function that counts its calls."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.renders = 0
        self.principals: dict[int, Principal | None] = {}
        self.live: set[str] | None = None
        self.hub = Hub(
            db,
            Relay(db),
            self.render,
            load_principals=self.load,
            live_sessions=self.sessions,
            timing=Timing(heartbeat=(30, 45), idle_timeout=120),
        )

    async def render(self, event: LoggedEvent, conns: Sequence[Connection]) -> Frames:
        self.renders += 1
        return [(json.dumps({"id": event.id, "kind": event.kind}), conns)]

    async def load(self, session_ids: Collection[str]) -> dict[str, Principal]:
        found = {}
        for conn in self.hub.connections:
            principal = self.principals.get(conn.user_id, conn.principal)
            if conn.session_id in session_ids and principal is not None:
                found[conn.session_id] = principal
        return found

    async def sessions(self, ids: object) -> set[str]:
        return {c.session_id for c in self.hub.connections} if self.live is None else self.live

    async def start(self) -> None:
        await self.hub.relay.start()
        self.hub.dispatched = self.hub.relay.cursor

    async def event(self, *audience: str, user_id: int = 1) -> int:
        async with self.db.transaction() as session:
            row = await record_event(
                session, RecordUpdated("account", user_id, ()), set(audience), actor_id=None
            )
            return row.id

    async def connect(
        self, principal: Principal, after: int | None = None, **kw: int
    ) -> Connection:
        conn = Connection(principal, f"token-{principal.user_id}-{id(principal)}", **kw)
        frames = await self.hub.attach(conn, self.hub.horizon if after is None else after)
        assert frames is not None
        for frame in frames:
            conn.offer(frame)
        return conn


def drain(conn: Connection) -> list[int | None]:
    got = []
    while conn.pending:
        frame, _ = conn._frames.popleft()  # the socket's own task would send it
        conn._bytes -= len(frame)
        got.append(json.loads(frame)["id"])
    return got


async def test_audience_filtering_renders_once_per_event(db: Database) -> None:
    stage = Stage(db)
    await stage.start()
    staff = await stage.connect(person(1, "role:employee"))
    other_staff = await stage.connect(person(2, "role:employee", "group:7"))
    customer = await stage.connect(person(3, "account:31"))
    everyone = await stage.event("role:employee")
    group = await stage.event("group:7")
    account = await stage.event("account:31", "role:admin")
    nobody = await stage.event("user:99")
    await stage.hub.step()
    assert drain(staff) == [everyone]
    assert drain(other_staff) == [everyone, group]
    assert drain(customer) == [account]
    assert stage.renders == 3, "rendered once per event with listeners, never per socket"
    assert nobody not in drain(staff)


async def test_replay_in_order_only_what_the_reader_may_see(db: Database) -> None:
    stage = Stage(db)
    await stage.start()
    cursor = stage.hub.horizon
    seen = [await stage.event("role:employee"), await stage.event("group:7")]
    hidden = await stage.event("group:8")
    seen.append(await stage.event("user:1"))
    await stage.hub.step()
    reader = await stage.connect(person(1, "role:employee", "group:7"), after=cursor)
    assert drain(reader) == seen
    assert hidden not in seen
    later = await stage.event("role:employee")
    await stage.hub.step()
    assert drain(reader) == [later]


async def test_a_pruned_gap_asks_for_a_reload(db: Database) -> None:
    stage = Stage(db)
    await stage.start()
    cursor = stage.hub.horizon
    for _ in range(3):
        await stage.event("role:employee")
    await stage.hub.step()
    async with db.transaction() as session:
        await prune_events(session, utcnow() + timedelta(seconds=1))
    conn = Connection(person(1, "role:employee"), "t")
    assert await stage.hub.attach(conn, cursor) is None
    # A cursor from the future (a restored database) also starts afresh.
    assert await stage.hub.attach(Connection(person(2), "u"), 10**9) is None
    # The newest id itself replays nothing and is fine.
    assert await stage.hub.attach(Connection(person(3), "v"), stage.hub.horizon) == []


async def test_leaving_a_group_stops_its_events_at_once(db: Database) -> None:
    stage = Stage(db)
    await stage.start()
    member = await stage.connect(person(1, "group:7"))
    before = await stage.event("group:7")
    await stage.hub.step()
    assert drain(member) == [before]
    stage.principals[1] = person(1)  # what the database now says: no group:7
    async with db.transaction() as session:
        removal = await record_event(
            session,
            GroupMembershipChanged(7, 1, "removed", "member"),
            {"group:7", "user:1"},
            actor_id=None,
        )
    after = await stage.event("group:7")
    await stage.hub.step()
    assert drain(member) == [removal.id], "the removal itself, then nothing of the group"
    assert after not in drain(member)


async def test_a_role_change_stops_its_audience_at_once(db: Database) -> None:
    stage = Stage(db)
    await stage.start()
    hr = await stage.connect(person(1, "hr"))
    stage.principals[1] = person(1)  # what the database now says: the HR role is gone
    async with db.transaction() as session:
        change = await record_event(
            session, UserAccessChanged(1, ("roles",)), {"user:1"}, actor_id=None
        )
    after = await stage.event("hr")
    await stage.hub.step()
    assert drain(hr) == [change.id], "the change itself, then nothing for HR"
    assert after not in drain(hr)


async def test_a_projects_former_manager_stops_hearing_of_it_at_once(db: Database) -> None:
    stage = Stage(db)
    await stage.start()
    manager = await stage.connect(person(1, "project:9"))
    before = await stage.event("project:9")
    await stage.hub.step()
    assert drain(manager) == [before]
    stage.principals[1] = person(1)  # a new manager took over: no project:9 any more
    async with db.transaction() as session:
        await record_event(
            session, RecordUpdated("project", 9, ("manager_id",)), {"project:9"}, actor_id=None
        )
    await stage.event("project:9")
    await stage.hub.step()
    assert drain(manager) == [], "judged by the new principal already: not even the change"


async def test_ended_sessions_are_closed_by_revalidation(db: Database) -> None:
    stage = Stage(db)
    await stage.start()
    keep = await stage.connect(person(1, "role:employee"))
    gone = await stage.connect(person(2, "role:employee"))
    stage.live = {keep.session_id}
    await stage.hub.revalidate()
    assert gone.closed_reason == REVOKED
    assert gone not in stage.hub.connections
    assert not keep.closed
    # A deactivated user's principal cannot be loaded any more: refreshing closes them too.
    stage.principals[1] = None
    await stage.hub.refresh_principals()
    assert keep.closed_reason == REVOKED


async def test_a_slow_client_is_cut_off_and_others_get_everything(db: Database) -> None:
    stage = Stage(db)
    await stage.start()
    slow = await stage.connect(person(1, "role:employee"), max_frames=3)
    fast = await stage.connect(person(2, "role:employee"))
    made = [await stage.event("role:employee") for _ in range(10)]
    await stage.hub.step()
    assert slow.closed_reason == SLOW
    assert slow.pending == 0, "its buffer is dropped, not kept"
    assert await slow.next() is None
    assert drain(fast) == made


async def test_a_wake_up_as_the_hub_stops_does_not_keep_it_running(db: Database) -> None:
    # Python 3.11's wait_for dropped the stop's cancellation when a wake-up (a Redis message)
    # arrived in the same loop turn, and the dispatch loop ran on: the app never shut down.
    stage = Stage(db)
    await stage.hub.start()
    await asyncio.sleep(0.1)  # the dispatch loop has read the log and waits for a wake-up
    stage.hub.nudge()
    async with asyncio.timeout(5):
        await stage.hub.stop()


async def test_heartbeats_and_idle_cleanup(db: Database) -> None:
    stage = Stage(db)
    await stage.start()
    conn = await stage.connect(person(1))
    assert 30 <= conn.next_heartbeat - conn.last_heard <= 45.5
    stage.hub.housekeeping(now=conn.last_heard + 46)
    assert conn.pending == 1 and conn._frames[0][0] == HEARTBEAT
    conn.heard()
    stage.hub.housekeeping(now=conn.last_heard + 121)
    assert conn.closed and conn not in stage.hub.connections


async def test_a_client_ahead_of_this_hub_gets_nothing_twice(db: Database) -> None:
    """A browser that saw events on a process whose hub was ahead reconnects here: what it saw
    is not sent again, what it did not see still comes."""
    stage = Stage(db)
    await stage.start()
    seen = await stage.event("role:employee")
    conn = await stage.connect(person(1, "role:employee"), after=seen)  # hub not past it yet
    unseen = await stage.event("role:employee")
    await stage.hub.step()
    assert drain(conn) == [unseen]


# -- direct sockets (realtime.wire) ----------------------------------------------------------------


class StandInSocket:
    """Stands in for ``realtime.wire.DirectWebSocketProtocol`` — a real one needs a real client
    that stops reading, which test_ws cannot stage reliably. It records what it was written and
    lets the test say how much the client has not read yet."""

    def __init__(self) -> None:
        self.written: list[bytes] = []
        self.buffered = 0
        self.open = True
        self.closed_with: tuple[int, str] | None = None

    def write(self, data: bytes) -> bool:
        if self.open:
            self.written.append(data)
        return self.open

    def close(self, code: int, reason: str = "") -> None:
        self.closed_with = (code, reason)


def test_a_direct_socket_gets_what_waited_during_its_replay_then_frames_as_they_come() -> None:
    conn = Connection(person(1), "t")
    conn.offer("one", 1)  # dispatched live while the replay was being read
    conn.offer("two", 2)
    conn.mark_replayed({1})  # the replay had 1 already
    socket = StandInSocket()
    conn.go_direct(socket)
    assert socket.written == [encode_text("two")]
    assert conn.pending == 0
    conn.offer("three", 3, encode_text("three"))
    conn.offer("one", 1)  # a late commit the replay had: not twice
    assert socket.written == [encode_text("two"), encode_text("three")]


def test_a_direct_socket_whose_client_stops_reading_is_closed_to_catch_up() -> None:
    conn = Connection(person(1), "t", max_bytes=1000)
    socket = StandInSocket()
    conn.go_direct(socket)
    conn.offer("a", 1)
    socket.buffered = 1001  # the client stopped reading
    conn.offer("b", 2)
    assert conn.closed_reason == SLOW
    assert socket.closed_with == (4000, SLOW), "reconnect with your last id"
    conn.offer("c", 3)
    assert len(socket.written) == 2, "nothing more once closed"


def test_a_direct_socket_revoked_is_told_so_and_one_gone_is_not_written_to() -> None:
    revoked = Connection(person(1), "t")
    socket = StandInSocket()
    revoked.go_direct(socket)
    revoked.close(REVOKED)
    assert socket.closed_with == (4001, REVOKED)
    gone = Connection(person(2), "u")
    closing = StandInSocket()
    gone.go_direct(closing)
    closing.open = False  # the client left between two frames
    gone.offer("a", 1)
    assert gone.closed_reason == GONE and closing.closed_with is None
