"""A team's choices on its submissions: select or unselect a final one, cancel a queued or
running one (`mlchallenge select|unselect|cancel SUBMISSION`)."""

from __future__ import annotations

import json

import click

from challenge.cli.client import _common, _describe, _setup


def _show(data: dict[str, object], as_json: bool, message: str) -> None:
    click.echo(json.dumps(data, indent=2) if as_json else f"{message}\n{_describe(data)}")


@click.command()
@click.argument("submission_id", type=int)
@_common
def select(
    ctx: click.Context, submission_id: int, server: str | None, token: str | None, as_json: bool
) -> None:
    """Select a finished submission as one of your team's finals (the private board ranks them)."""
    data = _setup(ctx, server, token).request(
        "POST", f"/api/v1/submissions/{submission_id}/select", json={"selected": True}
    )
    _show(data, as_json, f"submission {submission_id} is selected as final")


@click.command()
@click.argument("submission_id", type=int)
@_common
def unselect(
    ctx: click.Context, submission_id: int, server: str | None, token: str | None, as_json: bool
) -> None:
    """Take a submission off your team's final selection."""
    data = _setup(ctx, server, token).request(
        "POST", f"/api/v1/submissions/{submission_id}/select", json={"selected": False}
    )
    _show(data, as_json, f"submission {submission_id} is no longer selected as final")


@click.command()
@click.argument("submission_id", type=int)
@_common
def cancel(
    ctx: click.Context, submission_id: int, server: str | None, token: str | None, as_json: bool
) -> None:
    """Cancel a queued submission, or stop a running one."""
    data = _setup(ctx, server, token).request("POST", f"/api/v1/submissions/{submission_id}/cancel")
    _show(data, as_json, f"submission {submission_id}: {data['status']}")


def choice_commands() -> list[click.Command]:
    """select, unselect and cancel, added to the top-level group."""
    return [select, unselect, cancel]
