"""Delivery only: pub/sub wake-ups, (later) the websocket hub and web push. Knows no HTML."""
