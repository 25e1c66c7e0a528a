"""People's accounts: users with roles, their server-side sessions and the login audit."""
