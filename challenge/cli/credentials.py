"""Tokens that `mlchallenge login` keeps in the user's config folder, for later commands.

The file is `credentials.json` in `click.get_app_dir("mlchallenge")` (on Linux
`$XDG_CONFIG_HOME/mlchallenge`, else `~/.config/mlchallenge`), created mode 0600 in a 0700
folder. It maps each server to its token and remembers the last server logged in to.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import click

FILE_NAME = "credentials.json"


def path() -> Path:
    """Where the credentials live."""
    return Path(click.get_app_dir("mlchallenge")) / FILE_NAME


def _read() -> dict[str, Any]:
    try:
        data = json.loads(path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _normal(server: str) -> str:
    return server.rstrip("/")


def default_server() -> str | None:
    """The server of the last `mlchallenge login`, if any."""
    server = _read().get("default")
    return server if isinstance(server, str) else None


def token_for(server: str) -> str | None:
    """The stored token of a server, if any."""
    entry = _servers(_read()).get(_normal(server))
    token = entry.get("token") if isinstance(entry, dict) else None
    return token if isinstance(token, str) else None


def _servers(data: dict[str, Any]) -> dict[str, Any]:
    found = data.get("servers")
    return found if isinstance(found, dict) else {}


def _write(data: dict[str, Any]) -> Path:
    target = path()
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temporary = target.with_suffix(".tmp")
    descriptor = os.open(temporary, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=2)
    os.chmod(temporary, 0o600)
    os.replace(temporary, target)
    return target


def store(server: str, *, token: str, username: str) -> Path:
    """Keep a server's token (mode 0600) and make it the default server; returns the file."""
    data = _read()
    servers = _servers(data)
    servers[_normal(server)] = {"token": token, "username": username}
    return _write({"default": _normal(server), "servers": servers})


def forget(server: str) -> str | None:
    """Drop a server's token; returns it (to revoke it on the server), if there was one."""
    data = _read()
    servers = _servers(data)
    entry = servers.pop(_normal(server), None)
    if data.get("default") == _normal(server):
        data["default"] = next(iter(servers), None)
    _write({"default": data.get("default"), "servers": servers})
    token = entry.get("token") if isinstance(entry, dict) else None
    return token if isinstance(token, str) else None
