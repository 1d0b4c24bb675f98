"""The per-process websocket hub: which open socket hears which event.

Sockets are indexed by audience token, so an event finds its listeners by looking up its own
audience — never by walking every socket. For each event the hub asks the portal's render
function for frames *once*, handing it every matching connection; the render function groups
them by what they may see (a viewer class) and returns one frame per group. The hub knows no
HTML.

Three tasks run beside the sockets:

- the dispatcher reads the log through the ``Relay`` when woken (a pub/sub wake-up or a local
  commit) and every ``poll_interval`` seconds anyway, for whatever the wake-ups missed;
- the guard re-checks every socket's session every ``revalidate_interval`` seconds (one query
  for all of them) and closes those whose session ended — logout, revocation, deactivation — and
  reloads principals every ``refresh_interval`` seconds (for changes no event names, such as a
  project team changed by an import). An event that may take tokens away says whose
  (``DomainEvent.recheck``: a membership or access change names its user, a group change the
  externals holding the group's token, a project's new manager the holders of the project's
  token), and those sockets' principals are reloaded before it or any later event is dispatched;
- housekeeping sends heartbeats (every 30–45 s, jittered so thousands of sockets do not wake
  together) and closes sockets whose client has gone quiet.

Replay on connect is exact: the connection is registered at the hub's *horizon* (the last id it
dispatched, or is dispatching), the events in ``(after, horizon]`` it may see are read from the
log and rendered for it alone, and everything later reaches it live.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass

from domain.access import Principal
from domain.db import Database, finish_before_cancel
from domain.events import CATALOGUE, Recheck
from realtime.connection import IDLE, REVOKED, SHUTDOWN, Connection
from realtime.relay import LoggedEvent, Relay, max_event_id, pruned_through, read_visible
from realtime.tasks import cancel_and_wait
from realtime.wire import encode_text

log = logging.getLogger(__name__)
_jitter = random.SystemRandom()  # jitter only; SystemRandom keeps the linter's S311 quiet

# (frame text, the connections that get it)
Frames = Sequence[tuple[str, Sequence[Connection]]]
Renderer = Callable[[LoggedEvent, Sequence[Connection]], Awaitable[Frames]]
# The principals of these session ids, computed afresh; a session no longer valid is missing.
PrincipalLoader = Callable[[Collection[str]], Awaitable[Mapping[str, Principal]]]
# Of these session ids, the ones still valid.
SessionCheck = Callable[[Collection[str]], Awaitable[set[str]]]

HEARTBEAT = json.dumps({"id": None, "kind": "heartbeat", "target": None, "html": ""})
HEARTBEAT_WIRE = encode_text(HEARTBEAT)
RELOAD = json.dumps({"id": None, "kind": "reload", "target": None, "html": ""})
REPLAY_LIMIT = 5000  # more missed events than this: a reload is faster than a replay


@dataclass(frozen=True)
class Timing:
    poll_interval: float = 2.0
    revalidate_interval: float = 3.0
    refresh_interval: float = 60.0
    heartbeat: tuple[float, float] = (30.0, 45.0)
    idle_timeout: float = 120.0
    housekeeping_interval: float = 1.0


class Hub:
    def __init__(
        self,
        db: Database,
        relay: Relay,
        render: Renderer,
        *,
        load_principals: PrincipalLoader,
        live_sessions: SessionCheck,
        timing: Timing | None = None,
    ) -> None:
        self.db = db
        self.relay = relay
        self.render = render
        self.load_principals = load_principals
        self.live_sessions = live_sessions
        self.timing = timing or Timing()
        self._by_token: dict[str, set[Connection]] = defaultdict(set)
        self._connections: set[Connection] = set()
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self.dispatched = 0  # the last id fully dispatched
        self._in_flight: int | None = None
        self.delivered = 0  # frames offered, for benchmarks and tests

    # -- life cycle ------------------------------------------------------------------------------

    async def start(self) -> None:
        await self.relay.start()
        self.dispatched = self.relay.cursor
        for name, loop in (
            ("hub-dispatch", self._dispatch_forever),
            ("hub-guard", self._guard_forever),
            ("hub-housekeeping", self._housekeeping_forever),
        ):
            self._tasks.append(asyncio.create_task(loop(), name=name))

    async def stop(self) -> None:
        await cancel_and_wait(*self._tasks)
        self._tasks.clear()
        for conn in list(self._connections):
            conn.close(SHUTDOWN)
            self.remove(conn)

    def nudge(self) -> None:
        """Read the log now (a wake-up arrived, or this process just committed an event)."""
        self._wake.set()

    @property
    def horizon(self) -> int:
        """Every event up to this id has been (or is being) dispatched: the cursor a page may
        render, and the end of a connecting socket's replay."""
        if self._in_flight is not None:
            return max(self.dispatched, self._in_flight)
        return self.dispatched

    @property
    def connections(self) -> frozenset[Connection]:
        return frozenset(self._connections)

    # -- connections -----------------------------------------------------------------------------

    def _index(self, conn: Connection) -> None:
        for token in conn.principal.tokens:
            self._by_token[token].add(conn)

    def _unindex(self, conn: Connection) -> None:
        for token in conn.principal.tokens:
            listeners = self._by_token.get(token)
            if listeners is not None:
                listeners.discard(conn)
                if not listeners:
                    del self._by_token[token]

    def remove(self, conn: Connection) -> None:
        if conn in self._connections:
            self._connections.discard(conn)
            self._unindex(conn)

    def _reindex(self, conn: Connection, principal: Principal) -> None:
        self._unindex(conn)
        conn.principal = principal
        self._index(conn)

    def matching(self, audience: Collection[str]) -> set[Connection]:
        found: set[Connection] = set()
        for token in audience:
            found.update(self._by_token.get(token, ()))
        return found

    async def attach(self, conn: Connection, after: int) -> list[str] | None:
        """Register a new connection and return the frames it missed since ``after``, in order
        — or None when that gap cannot be replayed (pruned, or too long): it must reload.

        Registration and the horizon are taken together, with no await in between, so every
        event is either in the replay or reaches the connection live.
        """
        horizon = self.horizon
        conn.next_heartbeat = time.monotonic() + _jitter.uniform(*self.timing.heartbeat)
        self._connections.add(conn)
        self._index(conn)
        try:
            return await self._replay(conn, after, horizon)
        except BaseException:
            self.remove(conn)
            raise

    async def _replay(self, conn: Connection, after: int, horizon: int) -> list[str] | None:
        if after >= horizon:
            async with self.db.session() as session:
                newest = await max_event_id(session)
            # A cursor from the future (a restored database, a forged value): start afresh.
            if after > newest:
                return None
            # The client saw up to ``after`` on a process whose hub was ahead of this one's.
            conn.floor = after
            return []
        async with self.db.session() as session:
            if after < await pruned_through(session):
                return None
            events = await read_visible(
                session, conn.principal.tokens, after=after, upto=horizon, limit=REPLAY_LIMIT + 1
            )
        if len(events) > REPLAY_LIMIT:
            return None
        frames: list[str] = []
        for event in events:
            for frame, members in await self._render(event, [conn]):
                if conn in members:
                    frames.append(frame)
        conn.mark_replayed({e.id for e in events})
        return frames

    # -- dispatch --------------------------------------------------------------------------------

    async def _dispatch_forever(self) -> None:
        failures = 0
        while True:
            waiting = self.relay.waiting
            timeout = 0.05 if waiting else self.timing.poll_interval
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for drops a cancellation that
            # arrives as the event is set, and this loop would then outlive ``stop``.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await self._wake.wait()
            self._wake.clear()
            try:
                await finish_before_cancel(self.step())
            except Exception:
                failures += 1
                log.exception("reading the event log failed")
                await asyncio.sleep(min(30.0, 0.5 * 2**failures))
                continue
            failures = 0
            if self.relay.more:
                self._wake.set()

    async def step(self) -> int:
        """Read the log once and dispatch what it gave; how many events that was."""
        events = await self.relay.poll()
        for event in events:
            await self.dispatch(event)
        return len(events)

    async def dispatch(self, event: LoggedEvent) -> None:
        self._in_flight = event.id
        try:
            kind = CATALOGUE.get(event.kind)
            recheck = kind.recheck(event.payload) if kind is not None else None
            if recheck is not None:
                await self._recheck(recheck)
            listeners = [c for c in self.matching(event.audience) if not c.closed]
            if listeners:
                event_id = event.id
                for frame, members in await self._render(event, listeners):
                    wire = encode_text(frame)  # once for every socket that gets it
                    for conn in members:
                        conn.offer(frame, event_id, wire)
                    self.delivered += len(members)
        finally:
            self.dispatched = max(self.dispatched, event.id)
            self._in_flight = None

    async def _render(self, event: LoggedEvent, listeners: Sequence[Connection]) -> Frames:
        try:
            return await self.render(event, listeners)
        except Exception:
            # One event that cannot be rendered must not stop the others; its region is
            # refreshed by the next event or page load.
            log.exception("rendering event %s (%s) failed", event.id, event.kind)
            return []

    # -- revocation ------------------------------------------------------------------------------

    async def _recheck(self, recheck: Recheck) -> None:
        """Reload the principals of the sockets an event may have taken tokens from."""
        users = recheck.users
        conns = [c for c in self._connections if c.user_id in users] if users else []
        if recheck.holders is not None:
            conns += [
                c
                for c in self._by_token.get(recheck.holders, ())
                if c.user_id not in users
                and (c.principal.is_external or not recheck.externals_only)
            ]
        await self._reload(conns)

    async def _reload(self, conns: Sequence[Connection]) -> None:
        """Reload these connections' principals now; if that fails, close them (an event said
        their audience shrank: better a reconnect than a leak)."""
        if not conns:
            return
        try:
            found = await self.load_principals({c.session_id for c in conns})
        except Exception:
            log.exception("reloading the principals of live sockets failed; closing them")
            found = {}
        self._apply(conns, found)

    def _apply(self, conns: Sequence[Connection], found: Mapping[str, Principal]) -> None:
        for conn in conns:
            principal = found.get(conn.session_id)
            if principal is None:
                conn.close(REVOKED)
                self.remove(conn)
            elif principal != conn.principal:
                self._reindex(conn, principal)

    async def revalidate(self) -> None:
        """Close every connection whose session is no longer valid."""
        conns = [c for c in self._connections if not c.closed]
        if not conns:
            return
        live = await self.live_sessions({c.session_id for c in conns})
        for conn in conns:
            if conn.session_id not in live:
                conn.close(REVOKED)
                self.remove(conn)

    async def refresh_principals(self) -> None:
        """Reload every connection's principal, for changes no event names (project teams).
        Batched (``PrincipalLoader``): a few statements per few hundred sockets, not per user."""
        conns = [c for c in self._connections if not c.closed]
        if conns:
            self._apply(conns, await self.load_principals({c.session_id for c in conns}))

    async def _guard_forever(self) -> None:
        last_refresh = time.monotonic()
        while True:
            await asyncio.sleep(self.timing.revalidate_interval)
            try:
                await finish_before_cancel(self.revalidate())
                if time.monotonic() - last_refresh >= self.timing.refresh_interval:
                    last_refresh = time.monotonic()
                    await finish_before_cancel(self.refresh_principals())
            except Exception:
                log.exception("re-validating live sockets failed")

    # -- housekeeping ----------------------------------------------------------------------------

    def housekeeping(self, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        for conn in list(self._connections):
            if conn.closed:
                self.remove(conn)
            elif now - conn.last_heard > self.timing.idle_timeout:
                conn.close(IDLE)
                self.remove(conn)
            elif now >= conn.next_heartbeat:
                conn.offer(HEARTBEAT, None, HEARTBEAT_WIRE)
                conn.next_heartbeat = now + _jitter.uniform(*self.timing.heartbeat)
            if conn.replayed_at and now - conn.replayed_at > self.relay.watch:
                conn.replayed_at = 0.0
                conn.forget_replay()

    async def _housekeeping_forever(self) -> None:
        while True:
            await asyncio.sleep(self.timing.housekeeping_interval)
            self.housekeeping()
