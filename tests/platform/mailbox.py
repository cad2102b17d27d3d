"""A real local SMTP server (aiosmtpd) that keeps what it receives, for tests of emails."""

from __future__ import annotations

import re
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from email import message_from_bytes
from email.message import Message
from typing import Any

from aiosmtpd.controller import Controller


class Mailbox:
    """aiosmtpd handler: every message delivered to it, parsed."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"

    def wait(self, count: int = 1, timeout: float = 5.0) -> list[Message]:
        """Poll until `count` messages arrived (or fail at the deadline)."""
        deadline = time.monotonic() + timeout
        while len(self.messages) < count:
            assert time.monotonic() < deadline, f"{len(self.messages)} of {count} emails arrived"
            time.sleep(0.02)
        return self.messages


def link_in(message: Message, path: str) -> str:
    """The secret that follows `path` in a message's body."""
    body = message.get_payload(decode=True)
    assert isinstance(body, bytes)
    found = re.search(re.escape(path) + r"([A-Za-z0-9_\-]+)", body.decode())
    assert found, body
    return found.group(1)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def smtp_server() -> Iterator[tuple[Mailbox, int]]:
    """A running SMTP server on 127.0.0.1 and its port."""
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield mailbox, port
    finally:
        controller.stop()
