"""The `mlchallenge` command."""
