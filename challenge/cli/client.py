"""The participant's client: talks to any mlchallenge server over its REST API."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import click
import httpx

from challenge.cli import credentials
from sandbox import SubmissionFormat

DEFAULT_SERVER = "http://127.0.0.1:8000"
TERMINAL = {"finished", "failed", "cancelled"}


class Client:
    """A thin API client that turns error responses into readable messages."""

    def __init__(self, server: str, token: str | None) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.http = httpx.Client(base_url=server.rstrip("/"), headers=headers, timeout=120)

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        """Send a request; raise ClickException with the server's message on errors."""
        try:
            response = self.http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise click.ClickException(f"cannot reach {self.http.base_url}: {exc}") from exc
        if response.status_code >= 400:
            try:
                message = response.json().get("message") or response.text
            except ValueError:
                message = response.text
            raise click.ClickException(f"{response.status_code}: {message}")
        if response.status_code == 204 or not response.content:
            return None
        if response.headers.get("content-type", "").startswith("application/json"):
            return response.json()
        return response.content


def _client(ctx: click.Context) -> Client:
    return Client(ctx.obj["server"], ctx.obj["token"])


def _common(func: Any) -> Any:
    func = click.option("--json", "as_json", is_flag=True, help="print JSON for scripts")(func)
    func = click.option(
        "--token",
        envvar="MLCHALLENGE_TOKEN",
        help="API token [default: the one `mlchallenge login` stored for the server]",
    )(func)
    func = click.option(
        "--server",
        envvar="MLCHALLENGE_SERVER",
        default=None,
        help=f"server URL [default: the last `mlchallenge login`, else {DEFAULT_SERVER}]",
    )(func)
    return click.pass_context(func)


def resolve(server: str | None, token: str | None) -> tuple[str, str | None]:
    """The server and token to use: given ones first, then those `mlchallenge login` stored."""
    chosen = server or credentials.default_server() or DEFAULT_SERVER
    return chosen, token or credentials.token_for(chosen)


def _setup(ctx: click.Context, server: str | None, token: str | None) -> Client:
    ctx.ensure_object(dict)
    server, token = resolve(server, token)
    ctx.obj.update(server=server, token=token)
    return _client(ctx)


def _table(rows: list[list[Any]], headers: list[str]) -> str:
    cells = [[str(c) for c in headers]] + [["" if c is None else str(c) for c in r] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _fmt(value: Any) -> str:
    return f"{value:.6g}" if isinstance(value, float) else ("" if value is None else str(value))


@click.command()
@_common
def competitions(ctx: click.Context, server: str | None, token: str | None, as_json: bool) -> None:
    """List competitions."""
    data = _setup(ctx, server, token).request("GET", "/api/v1/competitions")
    if as_json:
        click.echo(json.dumps(data, indent=2))
        return
    rows = [[c["slug"], c["task"], c["metric"], ",".join(c["formats"]), c["title"]] for c in data]
    click.echo(_table(rows, ["slug", "task", "metric", "formats", "title"]))


@click.command()
@click.argument("slug")
@click.option(
    "--out", type=click.Path(path_type=Path), default=None, help="folder (default: ./SLUG)"
)
@_common
def download(
    ctx: click.Context,
    slug: str,
    out: Path | None,
    server: str | None,
    token: str | None,
    as_json: bool,
) -> None:
    """Download a competition's public data files."""
    client = _setup(ctx, server, token)
    detail = client.request("GET", f"/api/v1/competitions/{slug}")
    names = [safe_file_name(name) for name in detail["data_files"]]
    folder = out or Path(slug)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name in names:
        content = client.request("GET", f"/api/v1/competitions/{slug}/data/{quote(name)}")
        (folder / name).write_bytes(
            content if isinstance(content, bytes) else json.dumps(content).encode()
        )
        written.append(str(folder / name))
    (folder / "description.md").write_text(detail["description"], encoding="utf-8")
    click.echo(json.dumps(written) if as_json else "\n".join(written))


@click.command()
@click.argument("slug")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--format",
    "fmt",
    default=None,
    help=f"{', '.join(SubmissionFormat)} (default: from the file's ending)",
)
@click.option("--note", default="", help="a note for your team")
@click.option(
    "--fact-sheet",
    "fact_sheet",
    default="",
    help='JSON answers to the competition\'s fact-sheet questions, e.g. \'{"method": "trees"}\'',
)
@click.option("--method-name", default="", help="the method's name (shown on the board if public)")
@click.option("--method-description", default="", help="how the model was made")
@click.option("--method-url", default="", help="the code or paper (http:// or https://)")
@click.option(
    "--public-method", is_flag=True, help="show the method on the leaderboard (`--methods`)"
)
@click.option("--wait", is_flag=True, help="wait for the result; exit 1 if it fails")
@click.option("--timeout", default=1800, show_default=True, type=int, help="seconds to wait")
@_common
def submit(
    ctx: click.Context,
    slug: str,
    path: Path,
    fmt: str | None,
    note: str,
    fact_sheet: str,
    method_name: str,
    method_description: str,
    method_url: str,
    public_method: bool,
    wait: bool,
    timeout: int,
    server: str | None,
    token: str | None,
    as_json: bool,
) -> None:
    """Submit a model or predictions file to a competition."""
    client = _setup(ctx, server, token)
    fmt = fmt or _guess_format(path)
    with path.open("rb") as handle:
        created = client.request(
            "POST",
            f"/api/v1/competitions/{slug}/submissions",
            files={"file": (path.name, handle)},
            data={
                "format": fmt,
                "note": note,
                "fact_sheet": fact_sheet,
                "method_name": method_name,
                "method_description": method_description,
                "method_url": method_url,
                "method_public": "true" if public_method else "false",
            },
        )
    if not wait:
        click.echo(
            json.dumps(created, indent=2)
            if as_json
            else f"submission {created['id']} queued (mlchallenge status {created['id']})"
        )
        return
    final = _wait(client, created["id"], timeout=timeout, quiet=as_json)
    if as_json:
        click.echo(json.dumps(final, indent=2))
    else:
        click.echo(_describe(final))
    if final["status"] != "finished":
        raise SystemExit(1)


def safe_file_name(name: object) -> str:
    """A file name sent by the server, refused unless it names a file inside the folder."""
    text = str(name)
    bad = (
        not isinstance(name, str)
        or text in ("", ".", "..")
        or any(c in text for c in "/\\\0:")
        or any(ord(c) < 32 for c in text)
        or text.startswith("~")
    )
    if bad:
        raise click.ClickException(
            f"the server sent the file name {text[:80]!r}, which is not a plain file name; "
            "nothing was written (is --server the platform you meant?)"
        )
    return text


def _guess_format(path: Path) -> str:
    from sandbox.formats import format_of_file

    guessed = format_of_file(path.name)
    if guessed is None:
        raise click.BadParameter(f"cannot tell the format of {path.name}; pass --format")
    return str(guessed)


def _wait(client: Client, submission_id: int, *, timeout: int, quiet: bool) -> Any:
    started = time.monotonic()
    last = ""
    spinner = "|/-\\"
    tick = 0
    while True:
        data = client.request("GET", f"/api/v1/submissions/{submission_id}")
        status = data["status"]
        if status in TERMINAL:
            if not quiet and sys.stderr.isatty():
                click.echo("", err=True)
            return data
        if time.monotonic() - started > timeout:
            raise click.ClickException(
                f"submission {submission_id} still {status} after {timeout} s"
            )
        if not quiet:
            waited = time.monotonic() - started
            line = f"submission {submission_id}: {status} {spinner[tick % 4]} {waited:5.1f} s"
            if sys.stderr.isatty():
                click.echo("\r" + line, err=True, nl=False)
            elif status != last:
                click.echo(line, err=True)
        last, tick = status, tick + 1
        time.sleep(0.5)


def _describe(data: dict[str, Any]) -> str:
    lines = [f"submission {data['id']} ({data['team']['name']}): {data['status']}"]
    if data.get("failure_reason"):
        lines.append(f"reason: {data['failure_reason']}")
    if data.get("error"):
        lines.append(data["error"])
    if data.get("waiting"):
        lines.append(f"waiting: {data['waiting']}")
    for split in ("public", "private"):
        scores = (data.get("scores") or {}).get(split)
        if scores:
            lines.append(f"{split}: " + ", ".join(f"{k}={_fmt(v)}" for k, v in scores.items()))
    if data.get("kpis"):
        lines.append("kpis: " + ", ".join(f"{k}={_fmt(v)}" for k, v in data["kpis"].items()))
    return "\n".join(lines)


@click.command()
@click.argument("submission_id", type=int)
@_common
def status(
    ctx: click.Context, submission_id: int, server: str | None, token: str | None, as_json: bool
) -> None:
    """Show a submission's status and scores."""
    data = _setup(ctx, server, token).request("GET", f"/api/v1/submissions/{submission_id}")
    click.echo(json.dumps(data, indent=2) if as_json else _describe(data))


@click.command()
@click.argument("submission_id", type=int)
@_common
def logs(
    ctx: click.Context, submission_id: int, server: str | None, token: str | None, as_json: bool
) -> None:
    """Print a submission's captured logs."""
    data = _setup(ctx, server, token).request("GET", f"/api/v1/submissions/{submission_id}/logs")
    click.echo(json.dumps(data, indent=2) if as_json else data["logs"])


@click.command()
@click.argument("slug")
@click.option("--board", type=click.Choice(["public", "private"]), default="public")
@click.option("--methods", is_flag=True, help="add the methods teams made public")
@_common
def leaderboard(
    ctx: click.Context,
    slug: str,
    board: str,
    methods: bool,
    server: str | None,
    token: str | None,
    as_json: bool,
) -> None:
    """Show a competition's leaderboard."""
    params = {"board": board, "methods": "true" if methods else "false"}
    data = _setup(ctx, server, token).request(
        "GET", f"/api/v1/competitions/{slug}/leaderboard", params=params
    )
    if as_json:
        click.echo(json.dumps(data, indent=2))
        return
    rows = [
        [
            r["rank"] if r["rank"] is not None else ("base" if r["is_baseline"] else "-"),
            r["team"]["name"],
            _fmt(r["score"]),
            "" if not r["interval"] else f"[{_fmt(r['interval'][0])}, {_fmt(r['interval'][1])}]",
            "=" if r.get("tied_with_previous") else "",
            r["submission_id"],
            *([_method(r.get("method"))] if methods else []),
        ]
        for r in data["rows"]
    ]
    headers = ["rank", "team", "score", "interval", "tie", "submission"]
    click.echo(f"{slug} {data['board']} board, metric {data['metric']}")
    click.echo(_table(rows, [*headers, *(["method"] if methods else [])]))


def _method(method: dict[str, Any] | None) -> str:
    if not method:
        return ""
    return " ".join(part for part in (method.get("name"), method.get("url")) if part)


@click.group()
def team() -> None:
    """Create or join a team."""


@team.command("create")
@click.argument("slug")
@click.argument("name")
@_common
def team_create(
    ctx: click.Context, slug: str, name: str, server: str | None, token: str | None, as_json: bool
) -> None:
    """Create a team in a competition and print its invite code."""
    data = _setup(ctx, server, token).request(
        "POST", f"/api/v1/competitions/{slug}/teams", json={"name": name}
    )
    click.echo(
        json.dumps(data, indent=2)
        if as_json
        else f"team {data['name']} (id {data['id']}), invite code {data['invite_code']}"
    )


@team.command("join")
@click.argument("team_id", type=int)
@click.argument("invite_code")
@_common
def team_join(
    ctx: click.Context,
    team_id: int,
    invite_code: str,
    server: str | None,
    token: str | None,
    as_json: bool,
) -> None:
    """Join a team with its id and invite code."""
    data = _setup(ctx, server, token).request(
        "POST", f"/api/v1/teams/{team_id}/join", json={"invite_code": invite_code}
    )
    click.echo(
        json.dumps(data, indent=2)
        if as_json
        else f"joined team {data['name']}: " + ", ".join(m["username"] for m in data["members"])
    )


@click.command()
@click.argument("challenge")
@click.option("--affiliation", required=True, help="your university or company")
@click.option("--country", required=True, help="the country you take part from")
@click.option(
    "--category", type=click.Choice(["student", "professional"]), required=True, help="who you are"
)
@_common
def register(
    ctx: click.Context,
    challenge: str,
    affiliation: str,
    country: str,
    category: str,
    server: str,
    token: str | None,
    as_json: bool,
) -> None:
    """Register to a challenge, once for all its problem statements (or update the profile)."""
    data = _setup(ctx, server, token).request(
        "POST",
        f"/api/v1/challenges/{quote(challenge)}/registrations",
        json={"affiliation": affiliation, "country": country, "category": category},
    )
    click.echo(
        json.dumps(data, indent=2)
        if as_json
        else f"registered to {data['challenge']} as {data['category']} "
        f"({data['affiliation']}, {data['country']})"
    )


@click.command()
@click.argument("slug")
@click.option("--accept-terms", is_flag=True, help="accept the problem's data-sharing terms")
@_common
def admission(
    ctx: click.Context, slug: str, accept_terms: bool, server: str, token: str | None, as_json: bool
) -> None:
    """Ask to take part in a restricted problem statement; prints where the request stands."""
    data = _setup(ctx, server, token).request(
        "POST", f"/api/v1/competitions/{quote(slug)}/admission", json={"accept_terms": accept_terms}
    )
    reason = f": {data['reason']}" if data["reason"] else ""
    click.echo(json.dumps(data, indent=2) if as_json else f"{data['status']}{reason}")


def client_commands() -> list[click.Command]:
    """The participant commands, added to the top-level group."""
    return [competitions, download, submit, status, logs, leaderboard, team, register, admission]
