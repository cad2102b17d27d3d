"""PP steps: each one's behaviour, fitting on the training data, and the chunked collector."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from mlfo.collector import collect_features
from mlfo.errors import StepError
from mlfo.preprocessing import PREPROCESSORS, FrameContext, Transform, fit_chain

CTX = FrameContext(id_column="id", target="y")


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": [1, 2, 3, 4],
            "a": [1.0, np.nan, 3.0, 100.0],
            "b": [0.0, 2.0, -4.0, 6.0],
            "name": ["p", "q", "r", "s"],
        }
    )


def _step(kind: str, params: dict[str, Any], train: pd.DataFrame | None = None) -> Transform:
    entry = PREPROCESSORS.get(kind)
    fitted = train if train is not None else _frame()
    return entry.impl(entry.parse_params(params), lambda: fitted, CTX)


def test_select_columns_keeps_the_id_first() -> None:
    out = _step("select_columns", {"columns": ["b"]})(_frame())
    assert list(out.columns) == ["id", "b"]


def test_select_columns_names_a_missing_column() -> None:
    with pytest.raises(StepError, match=r"column\(s\) \['zz'\] not in the features"):
        _step("select_columns", {"columns": ["zz"]})(_frame())


def test_drop_columns_and_the_id_is_protected() -> None:
    assert list(_step("drop_columns", {"columns": ["name"]})(_frame()).columns) == ["id", "a", "b"]
    with pytest.raises(StepError, match="the id column 'id' cannot be dropped"):
        _step("drop_columns", {"columns": ["id"]})
    missing_ok = _step("drop_columns", {"columns": ["zz"], "missing_ok": True})(_frame())
    assert list(missing_ok.columns) == list(_frame().columns)


def test_fill_missing_with_a_constant_and_the_training_median() -> None:
    constant = _step("fill_missing", {"value": -1})(_frame())
    assert constant["a"].tolist() == [1.0, -1.0, 3.0, 100.0]
    train = pd.DataFrame({"id": [9, 10, 11], "a": [10.0, 20.0, 90.0], "b": [1.0, 1.0, 1.0]})
    median = _step("fill_missing", {"strategy": "median", "columns": ["a"]}, train)(_frame())
    assert median["a"].tolist() == [1.0, 20.0, 3.0, 100.0]
    mean = _step("fill_missing", {"strategy": "mean"}, train)(_frame())
    assert mean["a"].iloc[1] == pytest.approx(40.0)


def test_standard_scale_uses_the_training_statistics() -> None:
    train = pd.DataFrame({"id": [1, 2], "a": [0.0, 10.0], "b": [5.0, 5.0]})
    out = _step("standard_scale", {}, train)(_frame())
    assert out["a"].tolist()[0] == pytest.approx((1.0 - 5.0) / 5.0)
    assert out["b"].tolist() == [-5.0, -3.0, -9.0, 1.0]  # zero spread: divided by 1
    assert out["id"].tolist() == [1, 2, 3, 4]
    assert out["name"].tolist() == ["p", "q", "r", "s"]


def test_clip_features_and_log1p() -> None:
    clipped = _step("clip_features", {"min": 0, "max": 5, "columns": ["a", "b"]})(_frame())
    assert clipped["b"].tolist() == [0.0, 2.0, 0.0, 5.0]
    assert clipped["a"].tolist()[3] == 5.0
    logged = _step("log1p", {"columns": ["b"]})(_frame())
    assert logged["b"].tolist() == pytest.approx([0.0, np.log(3.0), 0.0, np.log(7.0)])


def test_forecast_horizon_checks_the_steps_ahead() -> None:
    frame = pd.DataFrame({"id": [1, 2, 3], "h": [1, 24, 7]})
    assert _step("forecast_horizon", {"column": "h", "steps": 24})(frame) is frame
    with pytest.raises(StepError, match=r"column 'h' must hold whole steps ahead in 1..12; 1 row"):
        _step("forecast_horizon", {"column": "h", "steps": 12})(frame)


def test_a_step_on_a_text_column_says_so() -> None:
    with pytest.raises(StepError, match=r"columns \['name'\] must be numeric"):
        _step("log1p", {"columns": ["name"]})(_frame())


def test_fit_chain_fits_each_step_on_the_output_of_the_ones_before() -> None:
    train = pd.DataFrame({"id": [1, 2, 3], "a": [np.nan, 2.0, 4.0]})
    fill = PREPROCESSORS.get("fill_missing")
    scale = PREPROCESSORS.get("standard_scale")
    chain = fit_chain(
        [
            (fill.impl, fill.parse_params({"value": 0.0})),
            (scale.impl, scale.parse_params({})),
        ],
        lambda: train,
        CTX,
    )
    out = chain(train)
    assert out["a"].mean() == pytest.approx(0.0)
    assert out["a"].std(ddof=0) == pytest.approx(1.0)


def _big_table(path: Path, rows: int) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    table = pd.DataFrame(
        {
            "id": np.arange(rows),
            "a": rng.normal(5, 2, rows),
            "b": rng.exponential(3, rows),
            "c": np.where(rng.random(rows) < 0.1, np.nan, rng.normal(size=rows)),
        }
    )
    table.to_parquet(path, index=False, row_group_size=700)
    return table


def test_the_chunked_collector_matches_a_one_shot_transform(tmp_path: Path) -> None:
    table = _big_table(tmp_path / "test.parquet", 3_500)
    train = table.sample(frac=0.5, random_state=0)
    specs: list[tuple[str, dict[str, Any]]] = [
        ("fill_missing", {"strategy": "mean"}),
        ("log1p", {"columns": ["b"]}),
        ("standard_scale", {}),
        ("clip_features", {"min": -2, "max": 2}),
    ]
    steps = [(PREPROCESSORS.get(k).impl, PREPROCESSORS.get(k).parse_params(p)) for k, p in specs]
    chain = fit_chain(steps, lambda: train, CTX)
    seen: list[int] = []

    def counting(frame: pd.DataFrame) -> pd.DataFrame:
        seen.append(len(frame))
        return chain(frame)

    out = tmp_path / "features.parquet"
    collected = collect_features(
        tmp_path / "test.parquet", out, transform=counting, ctx=CTX, chunk_rows=1_000
    )
    assert seen == [1_000, 1_000, 1_000, 500]
    assert collected.rows == 3_500 and collected.chunks == 4
    pd.testing.assert_frame_equal(pd.read_parquet(out), chain(table))


def test_a_csv_table_is_collected_in_chunks_with_one_schema(tmp_path: Path) -> None:
    table = pd.DataFrame({"id": range(2_500), "a": [1] * 2_000 + [2.5] * 500})
    table.to_csv(tmp_path / "test.csv", index=False)
    collected = collect_features(
        tmp_path / "test.csv",
        tmp_path / "out.parquet",
        transform=lambda f: f,
        ctx=CTX,
        chunk_rows=1_000,
    )
    assert collected.chunks == 3
    assert pd.read_parquet(tmp_path / "out.parquet")["a"].tolist() == table["a"].tolist()


def test_the_collector_refuses_test_features_with_the_target(tmp_path: Path) -> None:
    pd.DataFrame({"id": [1], "y": [2.0]}).to_parquet(tmp_path / "t.parquet")
    with pytest.raises(StepError, match="must not contain the target 'y'"):
        collect_features(
            tmp_path / "t.parquet",
            tmp_path / "o.parquet",
            transform=lambda f: f,
            ctx=CTX,
            chunk_rows=1_000,
        )
