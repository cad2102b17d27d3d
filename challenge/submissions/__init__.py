"""Submissions: upload, validation, limits, status and logs."""
