"""The dry run of a bundle's own programs on its sample submission, before the competition exists.

The host asks for it (`dry_run=true` with the bundle upload): the staged programs run exactly as
the worker will run them (`mlfo.program_run`, the same jails) on the bundle's sample submission (a
Codabench solution, or our bundle's `sample_submission.zip`). A failure refuses the bundle with the
programs' own logs: the host wrote them, so nothing is hidden from the host.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from challenge.competitions.bundle import Bundle
from challenge.competitions.data import StagedData
from challenge.errors import ValidationFailed
from mlfo.evaluation import EvaluationInput
from mlfo.program_run import ProgramPaths, evaluate_with_programs
from sandbox import SubmissionFormat

LOG_TAIL = 4000


def dry_run(bundle: Bundle, staged: StagedData, *, backend: str | None) -> dict[str, float | None]:
    """Score the sample submission with the staged programs; the public scores, or 422."""
    if bundle.programs is None:
        raise ValidationFailed("dry_run: this bundle has no scoring program to try")
    sample = bundle.sample_submission
    if sample is None:
        raise ValidationFailed(
            "dry_run: the bundle has no sample submission (a Codabench `solutions` zip, or "
            "sample_submission.zip|.json|.txt) to run the programs on"
        )
    formats = bundle.intent.model.formats
    code = sample.suffix == ".zip" and str(SubmissionFormat.CODE) in formats
    fmt = SubmissionFormat.CODE if code else SubmissionFormat.RESULTS
    with tempfile.TemporaryDirectory(prefix="dry-run-") as tmp:
        work = Path(tmp)
        result = evaluate_with_programs(
            EvaluationInput(
                submission_id=0,
                competition_slug=bundle.settings.slug,
                intent=bundle.intent,
                model_path=sample,
                format=str(fmt),
                train_path=work / "none",
                test_path=work / "none",
                labels_path=work / "none",
                work_dir=work,
                sandbox_backend=backend,
            ),
            ProgramPaths(staged.competition / "programs", staged.labels / "reference"),
        )
        if not result.ok:
            logs = [result.logs] + [
                p.read_text("utf-8") for p in sorted(work.glob("scoring-*.log"))
            ]
            text = "\n".join(logs)[-LOG_TAIL:]
            raise ValidationFailed(
                f"dry_run: the programs failed on the sample submission ({result.outcome}: "
                f"{result.message}); their output:\n{text}"
            )
    return dict(result.scores.get("public", {}))
