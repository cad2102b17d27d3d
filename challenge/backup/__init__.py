"""Backups of a platform: its database, its storage areas and the embedded MLflow store, with a
manifest of hashes; restored into a fresh home (`mlchallenge backup` / `mlchallenge restore`)."""
