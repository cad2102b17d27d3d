"""Untrusted CSV headers and YAML documents are refused in linear time, before any real parsing."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from challenge.errors import ValidationFailed
from challenge.files.safe_yaml import MAX_YAML_BYTES, load_yaml_file, load_yaml_text
from sandbox.csv_header import CsvHeaderError, read_csv_header

BILLION_LAUGHS = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 9)}]\n" for i in range(8)
)


def cpu_seconds(action: Callable[[], object]) -> float:
    started = time.process_time()
    with contextlib.suppress(CsvHeaderError, ValidationFailed):
        action()
    return time.process_time() - started


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"a," * 80_000 + b"a\n1\n", "longer than 64 KB"),
        (b"name," * 500 + b"x\n", "repeats column names: 'name'"),
        (b",".join(b"c%d" % i for i in range(5000)) + b"\n", "5000 columns; at most 1024"),
        (b"id,y,id\n1,2,3\n", "repeats column names: 'id'"),
        (b"", "empty"),
        (b"id,\xff\n", "not UTF-8"),
    ],
)
def test_bad_csv_headers_are_refused_with_a_reason(
    tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "pred.csv"
    path.write_bytes(content)
    with pytest.raises(CsvHeaderError, match=message):
        read_csv_header(path)


def test_good_csv_headers_are_read_like_pandas(tmp_path: Path) -> None:
    path = tmp_path / "pred.csv"
    path.write_bytes(b'\xef\xbb\xbfid,"y, quoted",proba_1\r\n1,2,3\n')
    assert read_csv_header(path) == ["id", "y, quoted", "proba_1"]
    path.write_bytes(b"id,y")
    assert read_csv_header(path) == ["id", "y"]


def test_a_header_of_repeated_names_costs_milliseconds(tmp_path: Path) -> None:
    """The review's 160 KB header of one repeated name cost pandas 54 s of CPU."""
    path = tmp_path / "pred.csv"
    path.write_bytes(b"id,y," + b"y," * 80_000 + b"y\n1,2\n")
    assert cpu_seconds(lambda: read_csv_header(path)) < 0.5
    small = tmp_path / "small.csv"
    small.write_bytes(b"id,y," + b"y," * 5_000 + b"y\n1,2\n")
    assert cpu_seconds(lambda: read_csv_header(small, max_columns=10**6)) < 0.5


def test_yaml_alias_bombs_are_refused_at_once() -> None:
    assert cpu_seconds(lambda: load_yaml_text(BILLION_LAUGHS, label="competition.yaml")) < 0.5
    with pytest.raises(ValidationFailed, match="expands to more than 100000 values"):
        load_yaml_text(BILLION_LAUGHS, label="competition.yaml")
    with pytest.raises(ValidationFailed, match=r"alias \*a refers to a value that contains it"):
        load_yaml_text("a: &a [x, *a]\n", label="competition.yaml")


def test_yaml_aliases_that_pyyaml_writes_still_load() -> None:
    """PyYAML's own dumps alias repeated values (`&id001`): a bundle written so must load."""
    shared = ["a", "b"]
    text = yaml.safe_dump({"classes": shared, "intent": {"classes": shared}})
    assert "*id001" in text
    assert load_yaml_text(text, label="competition.yaml") == {
        "classes": ["a", "b"],
        "intent": {"classes": ["a", "b"]},
    }
    merged = load_yaml_text("base: &b {x: 1}\nother:\n  <<: *b\n  y: 2\n", label="c.yaml")
    assert merged["other"] == {"x": 1, "y": 2}


def test_yaml_depth_size_and_tags_are_bounded(tmp_path: Path) -> None:
    with pytest.raises(ValidationFailed, match="deeper than 64 levels"):
        load_yaml_text("[" * 10_000, label="competition.yaml")
    with pytest.raises(ValidationFailed, match="limited to 256 KB"):
        load_yaml_text("a: " + "x" * MAX_YAML_BYTES, label="competition.yaml")
    big = tmp_path / "competition.yaml"
    big.write_text("a: " + "x" * MAX_YAML_BYTES)
    with pytest.raises(ValidationFailed, match=r"competition\.yaml is 256 KB"):
        load_yaml_file(big)
    with pytest.raises(ValidationFailed, match="could not determine a constructor"):
        load_yaml_text("a: !!python/object/apply:os.system [id]", label="competition.yaml")


def test_plain_yaml_still_loads() -> None:
    document = "title: T\nslug: t\nphases:\n  - name: main\n    max_total: 3\nanchor: &ok 1\n"
    assert load_yaml_text(document, label="x") == {
        "title": "T",
        "slug": "t",
        "phases": [{"name": "main", "max_total": 3}],
        "anchor": 1,
    }
