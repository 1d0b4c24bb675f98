"""The web face of Atrium and its only composition root."""
