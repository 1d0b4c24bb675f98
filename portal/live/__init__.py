"""Live delivery, the portal's side: rendering events into frames for the hub (``render``), and
recording each page's cursor before it renders (``cursor``). The socket itself is
``portal.routes.ws``."""
