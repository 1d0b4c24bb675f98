"""Live delivery: relay, hub, pub/sub, and real processes."""
