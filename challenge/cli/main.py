"""The `mlchallenge` command: serve, api, worker, problems, intent, and the participant client."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from challenge.cli.admin import admin_commands
from challenge.cli.bundle import bundle
from challenge.cli.choices import choice_commands
from challenge.cli.client import client_commands
from challenge.cli.session import session_commands

if TYPE_CHECKING:
    from challenge.config import Settings
    from challenge.problems.base import Problem

EMBEDDED_QUEUES = "cpu,gpu,large-memory"


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="mlchallenge")
def cli() -> None:
    """mlchallenge: ML challenges and model evaluation (ITU-T Y.3172 pipeline, sandbox, MLFO)."""


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option(
    "--concurrency", default=2, show_default=True, type=int, help="evaluation worker processes"
)
@click.option(
    "--problems",
    default="all",
    show_default=True,
    help="built-in problems to seed as competitions: 'all', 'none' or ids, comma-separated",
)
@click.option(
    "--mlflow-ui",
    is_flag=True,
    help="also start the MLflow UI, at /mlflow behind the platform's login (admins and staff)",
)
def serve(host: str, port: int, concurrency: int, problems: str, mlflow_ui: bool) -> None:
    """Everything in one command on the embedded default (SQLite, local files, one worker)."""
    from challenge.bootstrap import prepare
    from challenge.challenges.demo import TITLE
    from challenge.cli.supervisor import Child, Supervisor
    from challenge.config import get_settings
    from challenge.observability import multiproc
    from challenge.problems import problem_ids

    settings = get_settings()
    wanted = (
        problem_ids()
        if problems == "all"
        else []
        if problems == "none"
        else [p.strip() for p in problems.split(",") if p.strip()]
    )
    click.echo(f"mlchallenge: data directory {settings.home}")
    result = prepare(settings, seed_problems=wanted)
    for problem_id in result.seeded:
        click.echo(f"mlchallenge: created competition {problem_id!r} from its simulator")
    if result.challenge is not None:
        click.echo(
            f"mlchallenge: the built-in problems form the challenge {TITLE!r} at "
            f"http://{host}:{port}/challenges/{result.challenge}"
        )
    click.echo(f"mlchallenge: admin token {result.admin_token}")
    click.echo(f"mlchallenge: (also written to {settings.home / 'admin-token'})")
    site = settings.public_url or f"http://{_reachable(host)}:{port}"
    click.echo(
        f"mlchallenge: log in on the web as admin: {login_url(site, result.login_secret)} "
        f"(works once, for {settings.login_link_minutes} minutes; then set a password on the "
        "page /account)"
    )
    env = {**os.environ, "MLCHALLENGE_HOME": str(settings.home)}
    if multiproc.ENV not in env:  # api and worker write to one folder: /metrics shows both
        env[multiproc.ENV] = str(multiproc.fresh_dir("serve"))
    me = [sys.executable, "-m", "challenge.cli.main"]
    children = [
        Child(
            "api",
            [*me, "api", "--host", host, "--port", str(port), "--workers", "1", "--no-migrate"],
        ),
        Child(
            "worker",
            [*me, "worker", "--queues", EMBEDDED_QUEUES, "--concurrency", str(concurrency)],
        ),
    ]
    if mlflow_ui:
        from challenge.cli.mlflow_ui import mlflow_ui_child

        child, socket = mlflow_ui_child(settings)
        children.append(child)
        env["MLCHALLENGE_MLFLOW_UI_UPSTREAM"] = f"unix:{socket}"
        env["MLCHALLENGE_MLFLOW_UI_URL"] = "/mlflow"
        click.echo(
            f"mlchallenge: MLflow UI at http://{host}:{port}/mlflow/ for admins and the staff of "
            f"a competition (its server listens only on {socket})"
        )
    click.echo(f"mlchallenge: web and API on http://{host}:{port} (Ctrl-C stops everything)")
    click.echo(f"mlchallenge: metrics of the api and the worker on http://{host}:{port}/metrics")
    raise SystemExit(Supervisor(children, env).run())


def _reachable(host: str) -> str:
    """An address a browser on this machine can open for a listening address."""
    return "127.0.0.1" if host in ("0.0.0.0", "::", "") else host


def login_url(site: str, secret: str) -> str:
    """The web address of a one-time login link."""
    from challenge.accounts.links import LinkKind, url

    return url(site, LinkKind.LOGIN, secret)


@cli.command()
@click.option("--host", default="0.0.0.0", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, type=int)
@click.option("--migrate/--no-migrate", default=True, help="apply migrations first")
def api(host: str, port: int, workers: int, migrate: bool) -> None:
    """The API and web pages under uvicorn (production process).

    Slow clients are cut off: request headers are due within MLCHALLENGE_HEADER_TIMEOUT_S, and a
    body may pause at most MLCHALLENGE_BODY_TIMEOUT_S (docs/security.md).
    """
    from challenge.observability import multiproc

    multiproc.ensure_dir("api")  # before anything imports prometheus_client
    from challenge.api.http_server import run
    from challenge.config import LogFormat, get_settings
    from challenge.db.migrate import upgrade
    from challenge.observability.logs import uvicorn_log_config

    settings = get_settings()
    settings.ensure_dirs()
    if migrate:
        upgrade(settings.database_url)
    run(
        host=host,
        port=port,
        workers=workers,
        log_config=uvicorn_log_config() if settings.log_format is LogFormat.JSON else None,
    )


@cli.command()
@click.option(
    "--queues",
    default="cpu",
    show_default=True,
    help="queues to serve: cpu, gpu, large-memory (comma-separated)",
)
@click.option("--concurrency", default=2, show_default=True, type=int)
@click.option("--loglevel", default="INFO", show_default=True)
@click.option(
    "--metrics-port",
    type=click.IntRange(0, 65535),
    default=None,
    help="serve this worker's Prometheus metrics on this port [default: MLCHALLENGE_METRICS_PORT; "
    "0: none]",
)
@click.option("--metrics-host", default="0.0.0.0", show_default=True)
def worker(
    queues: str, concurrency: int, loglevel: str, metrics_port: int | None, metrics_host: str
) -> None:
    """An evaluation worker (Celery) serving the given queues."""
    from challenge.observability import multiproc

    multiproc.ensure_dir("worker")  # before anything imports prometheus_client
    from challenge.config import LogFormat, get_settings
    from mlfo.worker.celery_app import QUEUES, get_celery

    unknown = [q for q in queues.split(",") if q not in QUEUES]
    if unknown:
        raise click.BadParameter(f"unknown queue(s) {unknown}; queues: {', '.join(QUEUES)}")
    settings = get_settings()
    settings.ensure_dirs()
    if settings.log_format is LogFormat.JSON:  # from now on: Celery's start logs too
        from celery.signals import setup_logging

        from challenge.observability.logs import use_json_logs

        use_json_logs(loglevel)
        setup_logging.connect(_json_logs, weak=False)
    port = settings.metrics_port if metrics_port is None else metrics_port
    if port:
        _serve_worker_metrics(settings, metrics_host, port)
    if "gpu" in queues.split(","):
        click.echo(gpu_queue_report(), err=True)
    app = get_celery()
    app.worker_main(
        [
            "worker",
            "--queues",
            queues,
            "--concurrency",
            str(concurrency),
            "--loglevel",
            loglevel,
            "--pool",
            "prefork",
            "--without-gossip",
            "--without-mingle",
            "--hostname",
            f"worker-{os.getpid()}@%h",
        ]
    )


def _json_logs(loglevel: int | str | None = None, **_: Any) -> None:
    """Celery's `setup_logging` receiver: JSON lines instead of Celery's own format."""
    from challenge.observability.logs import use_json_logs

    use_json_logs(loglevel or "INFO")


def _serve_worker_metrics(settings: Settings, host: str, port: int) -> None:
    from challenge.observability.exposition import serve_metrics

    try:
        serve_metrics(settings, host, port)
    except OSError as exc:
        raise click.ClickException(f"cannot serve metrics on {host}:{port}: {exc}") from exc
    click.echo(f"mlchallenge: worker metrics on http://{host}:{port}/metrics", err=True)


def gpu_queue_report() -> str:
    """Which GPU a worker serving the gpu queue gives its models (probed once, before forking)."""
    from mlfo.placement import cuda_device

    name = cuda_device()
    if name:
        return f"gpu queue: models of GPU competitions run on cuda ({name})"
    return (
        "gpu queue: this worker's torch sees no CUDA device; models of GPU competitions run "
        "on the CPU (install a CUDA build of torch 2.13 on a machine with an NVIDIA GPU)"
    )


@cli.group()
def problems() -> None:
    """The built-in problem statements and their simulators."""


@problems.command("list")
def problems_list() -> None:
    """List the built-in problems."""
    from challenge.problems import list_problems

    for problem in list_problems():
        click.echo(f"{problem.id:28} {problem.task:12} {problem.title}")


@problems.command("show")
@click.argument("problem_id")
def problems_show(problem_id: str) -> None:
    """Print a problem's description page."""
    problem = _problem(problem_id)
    click.echo(problem.description())


@problems.command("generate")
@click.argument("problem_id")
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--size", default=None, type=int, help="test rows (default: the problem's)")
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(path_type=Path),
    help="folder to write the host bundle into",
)
def problems_generate(problem_id: str, seed: int, size: int | None, out: Path) -> None:
    """Write a problem's host bundle (data, labels, description, settings, baseline)."""
    import time

    problem = _problem(problem_id)
    started = time.perf_counter()
    problem.write_bundle(out, seed=seed, size=size)
    click.echo(f"wrote {out} in {time.perf_counter() - started:.1f} s")


def _problem(problem_id: str) -> Problem:
    from challenge.problems import UnknownProblemError, get_problem

    try:
        return get_problem(problem_id)
    except UnknownProblemError as exc:
        raise click.BadParameter(str(exc), param_hint="PROBLEM_ID") from exc


@cli.group()
def intent() -> None:
    """The ML intent that describes how a competition evaluates submissions."""


@intent.command("schema")
def intent_schema() -> None:
    """Print the intent's JSON Schema."""
    from mlfo.intent import json_schema_text

    click.echo(json_schema_text())


for command in [
    *client_commands(),
    *choice_commands(),
    *session_commands(),
    *admin_commands(),
    bundle,
]:
    cli.add_command(command)


def main() -> None:
    """Entry point of the `mlchallenge` script."""
    cli()


if __name__ == "__main__":
    main()
