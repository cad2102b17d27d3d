"""`mlchallenge login` and `logout`: a token kept in the user's config folder for later commands."""

from __future__ import annotations

import click

from challenge.cli import credentials
from challenge.cli.client import DEFAULT_SERVER, Client


@click.command()
@click.option(
    "--server",
    envvar="MLCHALLENGE_SERVER",
    default=None,
    help=f"server URL [default: the last one logged in to, else {DEFAULT_SERVER}]",
)
@click.option("--username", prompt=True, help="your username (asked when not given)")
@click.option(
    "--password",
    prompt=True,
    hide_input=True,
    envvar="MLCHALLENGE_PASSWORD",
    help="your password (asked when not given; or MLCHALLENGE_PASSWORD)",
)
def login(server: str | None, username: str, password: str) -> None:
    """Log in with your password and keep a token (named `cli`) for later commands."""
    server = server or credentials.default_server() or DEFAULT_SERVER
    data = Client(server, None).request(
        "POST",
        "/api/v1/auth/login",
        json={"username": username, "password": password, "token_name": "cli"},
    )
    stored = credentials.store(server, token=data["token"], username=data["user"]["username"])
    click.echo(
        f"logged in to {server} as {data['user']['username']} ({data['user']['role']}); "
        f"token kept in {stored} (mode 0600). Later commands use it; "
        "`mlchallenge logout` revokes it."
    )


@click.command()
@click.option(
    "--server",
    envvar="MLCHALLENGE_SERVER",
    default=None,
    help="server URL [default: the last one logged in to]",
)
def logout(server: str | None) -> None:
    """Revoke the token `mlchallenge login` kept for the server, and forget it."""
    server = server or credentials.default_server() or DEFAULT_SERVER
    token = credentials.forget(server)
    if token is None:
        click.echo(f"not logged in to {server}")
        return
    try:
        Client(server, token).request("POST", "/api/v1/auth/logout")
    except click.ClickException as exc:
        click.echo(f"forgot the token; the server did not revoke it: {exc.message}", err=True)
        return
    click.echo(f"logged out of {server}")


def session_commands() -> list[click.Command]:
    """login and logout, added to the top-level group."""
    return [login, logout]
