"""Users, roles, API tokens, sign-in and the permission checks."""
