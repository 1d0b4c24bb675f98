"""Delivery only, knowing no HTML: the event relay (``relay``), the websocket hub (``hub``,
``connection``), pub/sub wake-ups (``pubsub``, ``redis_backend``, ``wakeups``), session
re-validation of open sockets (``revocation``) and the log's retention (``retention``)."""
