"""Import a Codabench v2 bundle (`competition.yaml` with `version: 2`) as a competition scored by
its own programs (docs/migrating.md says what maps to what and what is not supported)."""

from __future__ import annotations

import re
import shlex
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from challenge.competitions.bundle import (
    Bundle,
    CompetitionSettings,
    PhaseSettings,
    ProgramFiles,
)
from challenge.errors import ValidationFailed
from challenge.files.safe_yaml import load_yaml_file
from mlfo.errors import IntentError

LEGACY_KEYS = ("competition_docker_image", "html", "admin_names")
"""Keys only Codabench v1 (CodaLab) bundles have (our bundles have none of them, nor `version`)."""
DATE_FORMATS = ("%m-%d-%Y", "%Y-%m-%d", "%m-%d-%Y %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M")


def is_codabench(raw: Any) -> bool:
    """Whether a parsed competition.yaml is a Codabench bundle (v2, or a legacy v1 one)."""
    if not isinstance(raw, dict):
        return False
    return "version" in raw or any(key in raw for key in LEGACY_KEYS) or "tasks" in raw


def _fail(message: str) -> ValidationFailed:
    return ValidationFailed(f"competition.yaml (Codabench): {message}")


def _refuse_legacy(raw: dict[str, Any]) -> None:
    version = raw.get("version")
    legacy = [key for key in (*LEGACY_KEYS, "leaderboard") if key in raw]
    if version == 2 and not legacy:
        return
    found = f" (found {', '.join(legacy)})" if legacy else ""
    raise _fail(
        f"only Codabench v2 bundles (`version: 2`) can be imported; this is a v1 (CodaLab) bundle"
        f"{found}. Not supported: `competition_docker_image` (programs run in our sandbox's "
        "Python runtime), html pages (write Markdown pages), zipped programs and data (unzip "
        "them into folders), the v1 `leaderboard` section (use `leaderboards` with `columns`). "
        "Re-save the competition in Codabench v2, or convert it as docs/migrating.md shows"
    )


def _inside(root: Path, given: Any, what: str) -> Path:
    if not isinstance(given, str) or not given.strip():
        raise _fail(f"{what} must name a folder of the bundle")
    path = (root / given).resolve()
    if not path.is_relative_to(root.resolve()) or not path.exists():
        raise _fail(f"{what}: {given!r} is not inside the bundle")
    if path.is_file() and path.suffix == ".zip":
        raise _fail(f"{what}: {given!r} is a zip; unzip it into a folder of the bundle")
    if not path.is_dir():
        raise _fail(f"{what}: {given!r} is not a folder")
    return path


def _folder_name(root: Path, path: Path) -> str:
    relative = path.resolve().relative_to(root.resolve()).as_posix().strip("/")
    return re.sub(r"[^A-Za-z0-9_.-]", "_", relative)[:64] or "root"


def _command(program: Path, what: str) -> list[str]:
    metadata = program / "metadata.yaml"
    if not metadata.is_file():
        metadata = program / "metadata"
    if not metadata.is_file():
        raise _fail(f"{what}: metadata.yaml with a `command` is missing")
    raw = load_yaml_file(metadata)
    command = raw.get("command") if isinstance(raw, dict) else None
    if not isinstance(command, str) or not command.strip():
        raise _fail(f"{what}: metadata.yaml has no `command`")
    try:
        return shlex.split(command)
    except ValueError as exc:
        raise _fail(f"{what}: its command cannot be parsed ({exc})") from None


def _date(value: Any, what: str) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    text = str(value).strip()
    for pattern in DATE_FORMATS:
        try:
            return datetime.strptime(text, pattern).replace(tzinfo=UTC)
        except ValueError:
            continue
    raise _fail(f"{what}: {text!r} is not a date (MM-DD-YYYY or YYYY-MM-DD)")


def _slug(title: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:64].strip("-")
    return slug if len(slug) >= 3 else f"codabench-{slug or 'competition'}"


def _description(root: Path, raw: dict[str, Any]) -> str:
    parts = [f"# {raw.get('title', 'Competition')}\n", str(raw.get("description") or "")]
    for page in raw.get("pages") or []:
        if isinstance(page, dict) and isinstance(page.get("file"), str):
            path = (root / page["file"]).resolve()
            if path.is_relative_to(root.resolve()) and path.is_file() and path.suffix == ".md":
                parts.append(f"\n## {page.get('title', path.stem)}\n\n{path.read_text('utf-8')}")
            else:
                raise _fail(f"pages: {page['file']!r} must be a Markdown file of the bundle")
    terms = raw.get("terms")
    if isinstance(terms, str) and (root / terms).is_file():
        parts.append(f"\n## Terms\n\n{(root / terms).read_text('utf-8')}")
    return "\n".join(parts)


def _tasks(root: Path, raw: dict[str, Any], files: ProgramFiles) -> dict[int, dict[str, Any]]:
    tasks: dict[int, dict[str, Any]] = {}
    for position, task in enumerate(raw.get("tasks") or []):
        if not isinstance(task, dict):
            raise _fail(f"tasks[{position}] must be a mapping")
        index = task.get("index", position)
        where = f"tasks[{position}]"
        if "scoring_program" not in task:
            raise _fail(f"{where}: a scoring_program is required")
        scoring = _inside(root, task["scoring_program"], f"{where}.scoring_program")
        entry: dict[str, Any] = {
            "key": f"task{index}",
            "name": str(task.get("name") or f"Task {index}")[:200],
            "scoring": {
                "folder": files.add_program(_folder_name(root, scoring), scoring),
                "command": _command(scoring, f"{where}.scoring_program"),
            },
        }
        if task.get("ingestion_program"):
            ingestion = _inside(root, task["ingestion_program"], f"{where}.ingestion_program")
            entry["ingestion"] = {
                "folder": files.add_program(_folder_name(root, ingestion), ingestion),
                "command": _command(ingestion, f"{where}.ingestion_program"),
            }
        if task.get("input_data"):
            data = _inside(root, task["input_data"], f"{where}.input_data")
            entry["input_data"] = files.add_program(_folder_name(root, data), data)
        if task.get("reference_data"):
            reference = _inside(root, task["reference_data"], f"{where}.reference_data")
            entry["reference_data"] = files.add_reference(_folder_name(root, reference), reference)
        tasks[int(index)] = entry
    if not tasks:
        raise _fail("tasks: at least one task with a scoring program is needed")
    return tasks


def _board(raw: dict[str, Any], tasks: list[dict[str, Any]]) -> dict[str, Any]:
    boards = raw.get("leaderboards") or []
    if not boards or not isinstance(boards[0], dict) or not boards[0].get("columns"):
        raise _fail("leaderboards: one leaderboard with `columns` is needed")
    given = sorted(boards[0]["columns"], key=lambda c: int(c.get("index", 0)))
    primary = int(boards[0].get("primary_index", given[0].get("index", 0)))
    columns: list[dict[str, Any]] = []
    order: list[str] = []
    for column in given:
        key = str(column.get("key", ""))
        if not key:
            raise _fail("leaderboards.columns: every column needs a `key`")
        precision = int(column.get("precision", 4))
        shown = {
            "title": str(column.get("title") or key),
            "sorting": "asc" if str(column.get("sorting", "desc")).lower() == "asc" else "desc",
            "format": f".{min(max(precision, 0), 12)}f",
            "hidden": bool(column.get("hidden", False)),
        }
        columns.append({"key": key, **shown})
        if int(column.get("index", 0)) == primary:
            order.insert(0, key)
        else:
            order.append(key)
        if len(tasks) > 1:
            for task in tasks:
                title = f"{task['name']}: {shown['title']}"
                columns.append({"key": f"{task['key']}.{key}", **shown, "title": title})
    return {"columns": columns, "rank_by": order[0], "tie_breakers": order[1:]}


def _flag(value: Any) -> bool:
    return value is True or str(value).strip().lower() == "true"


def _fact_sheet(raw: Any) -> list[dict[str, Any]] | None:
    """Codabench's `fact_sheet` ({key: {key, type, title, selection, is_required, ...}})."""
    from pydantic import ValidationError

    from challenge.submissions.fact_sheet import Question

    if not raw:
        return None
    if not isinstance(raw, dict):
        raise _fail("fact_sheet must be a mapping of question keys to questions")
    questions = []
    for key, given in raw.items():
        if not isinstance(given, dict):
            raise _fail(f"fact_sheet.{key} must be a mapping")
        selection = given.get("selection")
        try:
            question = Question(
                key=str(given.get("key") or key),
                type=given.get("type", "text"),
                title=str(given.get("title") or key)[:200],
                selection=selection if isinstance(selection, list) else [],
                is_required=_flag(given.get("is_required")),
                is_on_leaderboard=_flag(given.get("is_on_leaderboard")),
            )
        except ValidationError as exc:
            raise _fail(f"fact_sheet.{key}: {exc.errors()[0]['msg']}") from None
        questions.append(question.model_dump(mode="json"))
    return questions


def load_codabench(root: Path, raw: dict[str, Any]) -> Bundle:
    """A Codabench v2 bundle as our bundle: tasks, programs, phases, the leaderboard."""
    from mlfo.validation import validate_intent

    _refuse_legacy(raw)
    title = str(raw.get("title") or "").strip()
    if not title:
        raise _fail("title is required")
    files = ProgramFiles()
    tasks = _tasks(root, raw, files)
    phases_raw = raw.get("phases") or []
    if not phases_raw:
        raise _fail("phases: at least one phase is needed")
    used: list[int] | None = None
    phases = []
    for position, phase in enumerate(phases_raw):
        where = f"phases[{position}]"
        names = [int(i) for i in phase.get("tasks") or []]
        unknown = [i for i in names if i not in tasks]
        if unknown or not names:
            raise _fail(f"{where}.tasks: {unknown or 'none'} (tasks: {sorted(tasks)})")
        if used is not None and names != used:
            raise _fail(
                f"{where}.tasks: every phase must score the same tasks here ({used}); phases "
                "with different tasks are not supported: import them as separate competitions"
            )
        used = names
        phases.append(
            PhaseSettings(
                name=str(phase.get("name") or f"phase {position + 1}")[:64],
                start=_date(phase.get("start"), f"{where}.start"),
                end=_date(phase.get("end"), f"{where}.end"),
                max_per_day=int(phase.get("max_submissions_per_day") or 5),
                max_total=int(phase.get("max_submissions") or 100),
            )
        )
    assert used is not None
    chosen = [tasks[i] for i in used]
    board = _board(raw, chosen)
    code = all("ingestion" in t for t in chosen)
    time_s = max(float(p.get("execution_time_limit") or 0) for p in phases_raw) or 600.0
    intent_data = {
        "task": "regression",
        "id_column": "id",
        "target": "target",
        "metrics": [{"name": board["rank_by"]}],
        "model": {"formats": ["code", "results"] if code else ["results"]},
        "kpis": [],
        "programs": {
            "tasks": chosen,
            "limits": {"time_s": min(time_s, 86_400)},
            "public": board,
        },
    }
    try:
        intent = validate_intent(intent_data)
        settings = CompetitionSettings(
            title=title[:200],
            slug=_slug(title),
            phases=phases,
            intent=intent_data,
            fact_sheet=_fact_sheet(raw.get("fact_sheet")),
        )
    except (IntentError, ValueError) as exc:
        raise _fail(str(exc)) from None
    sample = None
    for solution in raw.get("solutions") or []:
        path = root / str(solution.get("path", "")) if isinstance(solution, dict) else None
        if path is not None and path.is_file() and path.suffix == ".zip":
            sample = path
            break
    return Bundle(
        root=root,
        settings=settings,
        intent=intent,
        description=_description(root, raw),
        train=None,
        test=None,
        labels=None,
        sample_submission=sample,
        baseline=None,
        programs=files,
    )
