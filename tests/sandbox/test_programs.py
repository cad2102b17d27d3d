"""Host programs (scoring, ingestion) in their own jail, and scores.json parsed under bounds."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from sandbox import Limits, Outcome
from sandbox.programs import Mount, ProgramRequest, ProgramResult, run_program
from sandbox.scores import ScoresInvalid, read_scores

from .conftest import SECRET, Host

LIMITS = Limits(time_s=8, memory_mb=768, processes=32, log_kb=32, tmp_mb=32, output_mb=4)


def _scoring(base: Path, body: str, *, ref: Path | None = None) -> ProgramResult:
    """Run `body` as score.py with INPUT/ref, INPUT/res and OUTPUT as the contract says."""
    program = base / "program"
    program.mkdir()
    (program / "score.py").write_text(textwrap.dedent(body))
    res = base / "res"
    res.mkdir()
    (res / "prediction").write_text("1\n0\n1\n")
    if ref is None:
        ref = base / "ref"
        ref.mkdir()
        (ref / "truth").write_text("1\n0\n0\n")
    request = ProgramRequest(
        command=("python", "/app/program/score.py", "/app/input", "/app/output"),
        mounts=(
            Mount(ref, "/app/input/ref"),
            Mount(res, "/app/input/res"),
            Mount(program, "/app/program"),
        ),
        output_at="/app/output",
        workdir="/app/program",
        limits=LIMITS,
        label="scoring program",
    )
    return run_program(request, base / "kept", work_dir=base / "work")


GOOD = """
    import json, os, sys
    ref = open(os.path.join(sys.argv[1], "ref", "truth")).read().split()
    res = open(os.path.join(sys.argv[1], "res", "prediction")).read().split()
    hits = sum(a == b for a, b in zip(ref, res))
    with open(os.path.join(sys.argv[2], "scores.json"), "w") as f:
        json.dump({"accuracy": hits / len(ref), "n": len(ref)}, f)
"""


def test_scoring_program_reads_ref_and_res_and_writes_scores(base: Path) -> None:
    result = _scoring(base, GOOD)
    assert result.outcome is Outcome.OK, result.message + result.logs
    assert result.output is not None
    assert read_scores(result.output) == pytest.approx({"accuracy": 2 / 3, "n": 3.0})


def test_a_crashing_program_is_a_runtime_error_with_its_log(base: Path) -> None:
    result = _scoring(base, "raise SystemExit('host bug: no labels here')\n")
    assert result.outcome is Outcome.RUNTIME_ERROR
    assert "host bug" in result.logs
    assert result.output is None


def test_network_is_off_for_programs(base: Path) -> None:
    body = """
        import json, socket, sys
        out = []
        for host, port in [("127.0.0.1", 6379), ("127.0.0.1", 5432), ("1.1.1.1", 443)]:
            try:
                socket.create_connection((host, port), timeout=2).close()
                out.append("CONNECTED")
            except OSError:
                out.append("blocked")
        print(out)
        json.dump({"connected": out.count("CONNECTED")}, open(sys.argv[2] + "/scores.json", "w"))
    """
    result = _scoring(base, body)
    assert result.outcome is Outcome.OK, result.logs
    assert result.output is not None
    assert read_scores(result.output) == {"connected": 0.0}


def test_a_program_sees_only_its_mounts(base: Path, host: Host) -> None:
    body = f"""
        import json, os, sys
        seen = []
        for path in [{str(host.labels)!r}, {str(host.other_submission)!r}, "/etc/shadow"]:
            try:
                seen.append(open(path).read())
            except OSError:
                pass
        print("SEEN", seen)
        json.dump({{"seen": len(seen)}}, open(sys.argv[2] + "/scores.json", "w"))
    """
    result = _scoring(base, body)
    assert result.outcome is Outcome.OK, result.logs
    assert SECRET not in result.logs
    assert result.output is not None
    assert read_scores(result.output) == {"seen": 0.0}


def test_memory_bomb_is_contained(base: Path) -> None:
    result = _scoring(base, "x = bytearray(4 * 1024**3)\n")
    assert result.outcome is Outcome.MEMORY_EXCEEDED, result.message


def test_an_inflating_output_is_killed(base: Path) -> None:
    body = """
        import sys
        with open(sys.argv[2] + "/big", "wb") as f:
            while True:
                f.write(b"0" * 1024 * 1024)
    """
    result = _scoring(base, body)
    assert result.outcome in (Outcome.INVALID_OUTPUT, Outcome.RUNTIME_ERROR), result.message
    assert result.output is None


def test_a_slow_program_times_out(base: Path) -> None:
    result = _scoring(base, "while True:\n    pass\n")
    assert result.outcome is Outcome.TIMEOUT


@pytest.mark.parametrize(
    ("content", "why"),
    [
        ("[1, 2]", "object"),
        ('{"a": "1"}', "not a number"),
        ('{"a": true}', "not a number"),
        ('{"a": NaN}', "finite"),
        ('{"a": Infinity}', "finite"),
        ('{"a": {"b": 1}}', "not a number"),
        ("{}", "no score"),
        ("not json", "not valid JSON"),
        ("[" * 60_000, "JSON"),
        ('{"a": 1, ' + ", ".join(f'"k{i}": {i}' for i in range(300)) + "}", "at most"),
    ],
)
def test_bad_scores_are_refused_with_a_reason(tmp_path: Path, content: str, why: str) -> None:
    (tmp_path / "scores.json").write_text(content)
    with pytest.raises(ScoresInvalid, match=why):
        read_scores(tmp_path)


def test_scores_file_too_large_link_or_missing(tmp_path: Path, host: Host) -> None:
    with pytest.raises(ScoresInvalid, match="wrote no"):
        read_scores(tmp_path)
    (tmp_path / "scores.json").symlink_to(host.labels)
    with pytest.raises(ScoresInvalid, match="link"):
        read_scores(tmp_path)
    (tmp_path / "scores.json").unlink()
    (tmp_path / "scores.json").write_text(json.dumps({"a": 1.0, "pad": "x" * 70_000}))
    with pytest.raises(ScoresInvalid, match="larger"):
        read_scores(tmp_path)


def test_row_scores_are_optional_bounded_and_only_for_known_keys(tmp_path: Path) -> None:
    from sandbox.scores import read_row_scores

    assert read_row_scores(tmp_path, {"a"}) == {}
    (tmp_path / "rows.json").write_text(json.dumps({"a": [1, 0, 1], "other": "ignored"}))
    assert read_row_scores(tmp_path, {"a"}) == {"a": [1.0, 0.0, 1.0]}
    for bad, why in (('{"a": [1, "x"]}', "not a number"), ('{"a": []}', "list"), ("[]", "object")):
        (tmp_path / "rows.json").write_text(bad)
        with pytest.raises(ScoresInvalid, match=why):
            read_row_scores(tmp_path, {"a"})
    (tmp_path / "rows.json").write_text(json.dumps({"a": [0.5] * 20}))
    with pytest.raises(ScoresInvalid, match="more than"):
        read_row_scores(tmp_path, {"a"}, max_values=10)


def test_program_formats_are_not_run_as_models_and_never_guessed(tmp_path: Path) -> None:
    import sandbox
    from sandbox import RunRequest, SubmissionFormat
    from sandbox.formats import FORMATS, format_of_file

    for fmt in (SubmissionFormat.CODE, SubmissionFormat.RESULTS):
        spec = FORMATS[fmt]
        assert spec.needs_programs and not spec.runs_code and not spec.is_model
        request = RunRequest(spec.sample_path, fmt, tmp_path / "none.parquet", "id", "y", "x")
        refused = sandbox.run(request)
        assert refused.outcome is Outcome.INVALID_SUBMISSION
        assert "ingestion and scoring programs" in refused.message
    assert format_of_file("submission.json") is None
    assert format_of_file("pred.csv") is SubmissionFormat.PREDICTIONS
