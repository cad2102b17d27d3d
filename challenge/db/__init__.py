"""Persistence: the declarative base, engines and sessions, migrations."""
