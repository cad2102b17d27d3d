"""Users, roles, API tokens and password login."""
