"""Who is asking: server-side sessions, CSRF protection, and route guards."""
