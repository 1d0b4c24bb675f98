"""How uvicorn serves Atrium: the options ``atrium serve`` and the tests' in-process servers share.

The live socket's protocol is ours (``realtime.wire``), so the hub can write each frame to every
socket directly. Frames go out uncompressed and clients only ever send heartbeat answers, so
permessage-deflate is not negotiated (a compression context per socket would cost more memory
than the socket itself) and a client message may be 1 KiB at most.
"""

from __future__ import annotations

from typing import Any

from realtime.wire import MAX_CLIENT_MESSAGE

WS_PROTOCOL = "realtime.wire:DirectWebSocketProtocol"


def uvicorn_options() -> dict[str, Any]:
    return {
        "ws": WS_PROTOCOL,
        "ws_per_message_deflate": False,
        "ws_max_size": MAX_CLIENT_MESSAGE,
        # The hub sends its own heartbeats (jittered, answered by the client) and closes sockets
        # that stop answering; uvicorn's pings would do the same work again for every socket.
        "ws_ping_interval": None,
    }
