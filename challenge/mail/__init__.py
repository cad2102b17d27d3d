"""Emails to people, through the configured SMTP server (`MLCHALLENGE_SMTP_*`)."""

from challenge.mail.smtp import MailError, send, send_after_commit

__all__ = ["MailError", "send", "send_after_commit"]
