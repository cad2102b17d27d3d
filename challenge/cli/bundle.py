"""`mlchallenge bundle check PATH`: validate a bundle offline, with the server's own messages."""

from __future__ import annotations

import tempfile
import zipfile
from pathlib import Path

import click


@click.group()
def bundle() -> None:
    """Host bundles: ours, Codabench v2 (competition.yaml) and EvalAI (challenge_config.yaml)."""


@bundle.command("check")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
def bundle_check(path: Path) -> None:
    """Validate the bundle folder or zip at PATH as `POST /api/v1/competitions` would."""
    from challenge.errors import ValidationFailed
    from sandbox.archive import BUNDLE_ARCHIVES, ArchiveRefused, extract_zip

    with tempfile.TemporaryDirectory(prefix="bundle-check-") as tmp:
        root = path
        if path.is_file():
            if not zipfile.is_zipfile(path):
                raise click.ClickException(f"{path} is neither a folder nor a zip")
            root = Path(tmp) / "bundle"
            try:
                extract_zip(path, root, limits=BUNDLE_ARCHIVES, label="the bundle zip")
            except ArchiveRefused as exc:
                raise click.ClickException(str(exc)) from None
        try:
            click.echo(_summary(root))
        except ValidationFailed as exc:
            raise click.ClickException(str(exc)) from None


def _summary(root: Path) -> str:
    from challenge.competitions.bundle import load_bundle

    loaded = load_bundle(root)
    try:
        intent = loaded.intent
        kind = "ours"
        if loaded.programs is not None:
            kind = "ours, with a scoring program"
            if loaded.programs.scratch is not None:
                kind = "EvalAI"
            elif loaded.settings.scoring is None:
                kind = "Codabench v2"
        lines = [
            f"ok: {kind} bundle {loaded.settings.title!r} (slug {loaded.settings.slug})",
            f"phases: {', '.join(p.name for p in loaded.settings.phases)}",
            f"formats: {', '.join(intent.model.formats)}",
        ]
        if intent.programs is not None:
            tasks = ", ".join(f"{t.key} ({t.name})" for t in intent.programs.tasks)
            lines.append(f"tasks: {tasks}")
            for name in ("public", "private"):
                board = intent.programs.board(name)
                columns = ", ".join(c.key for c in board.columns)
                lines.append(f"{name} board: ranked by {board.rank_by}; columns: {columns}")
        else:
            lines.append(f"metrics: {', '.join(m.name for m in intent.metrics)}")
        return "\n".join(lines)
    finally:
        if loaded.programs is not None:
            loaded.programs.discard_scratch()
