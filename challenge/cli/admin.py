"""Operator commands that work on the configured database: migrate, users, backup, restore."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click

ROLES = ("admin", "host", "judge", "participant")


@contextmanager
def database_errors(url: str) -> Iterator[None]:
    """Turn a database that cannot be reached into one readable line (no traceback)."""
    from sqlalchemy.exc import DBAPIError

    from challenge.db.migrate import redacted

    try:
        yield
    except DBAPIError as exc:
        first = str(exc.orig or exc).strip().splitlines()[0]
        raise click.ClickException(
            f"cannot use the database at {redacted(url)}: {first}; check MLCHALLENGE_DATABASE_URL"
        ) from exc


def require_migrated(url: str) -> None:
    """Stop with a clear message unless the database has this code's newest schema."""
    from sqlalchemy.engine import make_url

    from challenge.db.migrate import current_revision, head_revision, redacted

    where = f"the database at {redacted(url)}"
    location = make_url(url)
    if location.get_backend_name() == "sqlite" and not Path(location.database or "").is_file():
        raise click.ClickException(
            f"{where} does not exist yet: run `mlchallenge migrate` first (or check "
            "MLCHALLENGE_HOME and MLCHALLENGE_DATABASE_URL)"
        )
    current, head = current_revision(url), head_revision()
    if current == head:
        return
    state = "has no mlchallenge schema yet" if current is None else f"is at revision {current!r}"
    raise click.ClickException(
        f"{where} {state}, this mlchallenge needs {head!r}: run `mlchallenge migrate` first"
    )


@click.command()
def migrate() -> None:
    """Apply the database migrations and exit (the one-shot step of a deployment)."""
    from challenge.config import get_settings
    from challenge.db.migrate import current_revision, head_revision, redacted, upgrade

    settings = get_settings()
    settings.ensure_dirs()
    url = settings.database_url
    with database_errors(url):
        before = current_revision(url)
        upgrade(url)
        after = current_revision(url)
    where = redacted(url)
    if before == after:
        click.echo(f"mlchallenge: {where} is up to date (revision {after})", err=True)
    else:
        click.echo(
            f"mlchallenge: migrated {where} from {before or 'an empty database'} to {after}",
            err=True,
        )
    assert after == head_revision()


@click.group()
def users() -> None:
    """Accounts in the configured database (how a production install gets its first admin)."""


@users.command("create")
@click.argument("username")
@click.option("--email", required=True, help="the user's email address")
@click.option("--role", type=click.Choice(ROLES), default="participant", show_default=True)
@click.option(
    "--if-missing",
    is_flag=True,
    help="do nothing (exit 0) when the username exists already: for unattended first starts",
)
@click.option("--json", "as_json", is_flag=True, help="print the user and token as JSON")
def users_create(username: str, email: str, role: str, if_missing: bool, as_json: bool) -> None:
    """Create a user and print its API token.

    The password is asked for twice on a terminal; otherwise the first line of standard input
    is the password (`printf '%s\\n' "$PASSWORD" | mlchallenge users create ...`).
    """
    from pydantic import ValidationError

    from challenge.accounts import service
    from challenge.accounts.schemas import UserCreate, UserRead
    from challenge.config import get_settings
    from challenge.db.session import transaction
    from challenge.errors import PlatformError

    url = get_settings().database_url
    with database_errors(url):
        require_migrated(url)
        with transaction(url) as session:
            existing = service.get_by_username(session, username=username)
        if existing is not None and if_missing:
            click.echo(
                f"mlchallenge: user {username!r} exists already ({existing.role.value}); "
                "nothing changed",
                err=True,
            )
            return
        password = _read_password()
        try:
            body = UserCreate(username=username, email=email, password=password, role=role)
        except ValidationError as exc:
            raise click.ClickException(_validation_message(exc)) from exc
        try:
            with transaction(url) as session:
                user, token = service.create(
                    session,
                    username=body.username,
                    email=body.email,
                    password=body.password,
                    role=body.role,
                )
                read = UserRead.model_validate(user)
        except PlatformError as exc:
            raise click.ClickException(exc.message) from exc
    click.echo(f"mlchallenge: created {read.role.value} {read.username!r} (id {read.id})", err=True)
    if as_json:
        click.echo(json.dumps({"user": read.model_dump(mode="json"), "token": token}))
    else:
        click.echo(token)


def _read_password() -> str:
    stdin = sys.stdin
    if stdin.isatty():
        return str(click.prompt("Password", hide_input=True, confirmation_prompt=True))
    line = stdin.readline()
    if not line:
        raise click.ClickException(
            "no password: type it at the prompt, or give it as the first line of standard input"
        )
    return line.rstrip("\r\n")


def _validation_message(exc: object) -> str:
    from pydantic import ValidationError

    assert isinstance(exc, ValidationError)
    parts = [f"{'.'.join(map(str, e['loc'])) or 'value'}: {e['msg']}" for e in exc.errors()]
    return "; ".join(parts)


@click.command()
@click.argument("destination", type=click.Path(path_type=Path))
def backup(destination: Path) -> None:
    """Back up the database, the storage and the embedded MLflow store into a new folder.

    Safe while the platform runs. The folder holds the hidden labels and password hashes: keep
    it as secret as the platform's data.
    """
    from challenge.backup import service
    from challenge.config import get_settings

    settings = get_settings()
    with database_errors(settings.database_url):
        try:
            report = service.backup(settings, destination)
        except service.BackupError as exc:
            raise click.ClickException(str(exc)) from exc
    for note in report.notes:
        click.echo(f"mlchallenge: note: {note}", err=True)
    click.echo(f"mlchallenge: backup written to {report.path}: {report.summary()}", err=True)


@click.command()
@click.argument("source", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--check", is_flag=True, help="only verify the backup against its manifest")
def restore(source: Path, check: bool) -> None:
    """Restore a backup into the configured home and database, which must be fresh (empty).

    Every file is checked against the backup's manifest before anything is written.
    """
    from challenge.backup import service
    from challenge.config import get_settings

    settings = get_settings()
    with database_errors(settings.database_url):
        try:
            report = service.check(source) if check else service.restore(settings, source)
        except service.BackupError as exc:
            raise click.ClickException(str(exc)) from exc
    for note in report.notes:
        click.echo(f"mlchallenge: note: {note}", err=True)
    done = "is complete and intact" if check else f"restored into {settings.home}"
    click.echo(f"mlchallenge: the backup {report.path} {done}: {report.summary()}", err=True)


def admin_commands() -> list[click.Command]:
    """The operator commands, added to the top-level group."""
    return [migrate, users, backup, restore]
