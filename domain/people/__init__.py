"""People who sign in: users, their roles, their server-side sessions and login throttling."""
