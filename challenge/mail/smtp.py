"""Sending one email with the standard library's `smtplib` and `email` packages.

Messages are sent after the request's transaction commits, so a rolled-back request sends
nothing; a server that refuses or cannot be reached is logged, never shown as a 500.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from email.message import EmailMessage

from sqlalchemy.orm import Session

from challenge.config import Settings, SmtpSecurity
from challenge.db.session import after_commit

log = logging.getLogger(__name__)

TIMEOUT_S = 10.0


class MailError(Exception):
    """The SMTP server could not be reached or refused the message."""


def send(settings: Settings, *, to: str, subject: str, body: str) -> None:
    """Send a plain-text email now; MailError when it cannot be delivered to the server."""
    if not settings.mail_enabled:
        raise MailError("no SMTP server is configured (MLCHALLENGE_SMTP_HOST)")
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body)
    try:
        if settings.smtp_security is SmtpSecurity.TLS:
            server: smtplib.SMTP = smtplib.SMTP_SSL(
                settings.smtp_host,
                settings.smtp_port,
                timeout=TIMEOUT_S,
                context=ssl.create_default_context(),
            )
        else:
            server = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=TIMEOUT_S)
        with server:
            if settings.smtp_security is SmtpSecurity.STARTTLS:
                server.starttls(context=ssl.create_default_context())
            if settings.smtp_username:
                server.login(settings.smtp_username, settings.smtp_password)
            server.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        raise MailError(f"cannot send email to {to} via {settings.smtp_host}: {exc}") from exc


def send_after_commit(
    session: Session, settings: Settings, *, to: str, subject: str, body: str
) -> None:
    """Send once the session commits; a failure is logged (the request has already succeeded)."""

    def deliver() -> None:
        try:
            send(settings, to=to, subject=subject, body=body)
        except MailError as exc:
            log.warning("%s", exc)

    after_commit(session, deliver)
