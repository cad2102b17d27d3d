"""validate_predictions: messages a team can act on, and alignment to the labels."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from challenge.scoring import (
    InvalidPredictionsError,
    LabelsError,
    prepare_labels,
    validate_predictions,
)
from challenge.scoring.labels import encode_labels


def _labels(task: str = "regression") -> pd.DataFrame:
    if task == "regression":
        return pd.DataFrame({"id": [1, 2, 3, 4, 5, 6], "y": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]})
    return pd.DataFrame({"id": [1, 2, 3, 4, 5, 6], "y": ["a", "b", "c", "a", "b", "c"]})


def _check(predictions: pd.DataFrame, task: str = "regression", **kwargs: object) -> pd.DataFrame:
    return validate_predictions(
        predictions,
        _labels(task),
        id_column="id",
        target="y",
        task=task,
        **kwargs,  # type: ignore[arg-type]
    )


def _message(predictions: pd.DataFrame, task: str = "regression", **kwargs: object) -> str:
    with pytest.raises(InvalidPredictionsError) as caught:
        _check(predictions, task, **kwargs)
    return str(caught.value)


def test_predictions_are_aligned_to_the_labels_order_whatever_the_id_type() -> None:
    predictions = pd.DataFrame({"id": ["6", "5", "4", "3", "2", "1"], "y": [6, 5, 4, 3, 2, 1]})
    aligned = _check(predictions)
    assert aligned["id"].tolist() == [1, 2, 3, 4, 5, 6]
    assert aligned["y"].tolist() == [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    assert aligned["y"].dtype == np.float64


def test_missing_duplicated_and_unknown_ids_are_named_with_counts() -> None:
    predictions = pd.DataFrame({"id": [1, 1, 1, 2, 2, 3, 99, 98], "y": [0.0] * 8})
    message = _message(predictions)
    assert "2 ids appear more than once: 1 (x3), 2 (x2)" in message
    assert "3 ids of the test set are missing: 4, 5, 6" in message
    assert "2 ids are not in the test set: 99, 98" in message


def test_empty_ids_are_counted_once() -> None:
    predictions = pd.DataFrame({"id": [1, 2, 3, 4, 5, 6, None, None], "y": [0.0] * 8})
    message = _message(predictions)
    assert "2 rows with an empty 'id'" in message
    assert "more than once" not in message and "not in the test set" not in message


def test_many_missing_ids_show_a_few_examples() -> None:
    labels = pd.DataFrame({"id": range(100), "y": np.ones(100)})
    predictions = pd.DataFrame({"id": [0], "y": [1.0]})
    with pytest.raises(InvalidPredictionsError) as caught:
        validate_predictions(predictions, labels, id_column="id", target="y", task="regression")
    assert "99 ids of the test set are missing: 1, 2, 3, 4, 5, ..." in str(caught.value)
    assert len(caught.value.problems) == 1


def test_missing_columns_name_what_was_found() -> None:
    message = _message(pd.DataFrame({"ID": [1], "y": [1.0]}))
    assert "no 'id' column (found: ID, y)" in message
    message = _message(pd.DataFrame({"id": [1], "pred": [1.0]}))
    assert "no 'y' column (found: id, pred)" in message


def test_empty_and_non_table_predictions() -> None:
    assert "empty" in _message(pd.DataFrame({"id": [], "y": []}))
    with pytest.raises(InvalidPredictionsError, match="must be a table, got list"):
        validate_predictions([1, 2], _labels(), id_column="id", target="y", task="regression")


def test_non_finite_and_non_numeric_values_are_named() -> None:
    predictions = pd.DataFrame(
        {"id": [1, 2, 3, 4, 5, 6], "y": [1.0, np.nan, np.inf, "abc", 5.0, None]}
    )
    message = _message(predictions)
    assert "text that is not a number in 1 row (e.g. id 4)" in message
    assert "empty, NaN or infinite in 3 rows (e.g. id 2, 3, 6)" in message


def test_labels_outside_the_classes_are_listed_with_the_valid_classes() -> None:
    predictions = pd.DataFrame({"id": [1, 2, 3, 4, 5, 6], "y": ["a", "d", "d", "e", "b", None]})
    message = _message(predictions, "multiclass", classes=["a", "b", "c"])
    assert "3 labels that are not classes: 'd' (x2), 'e' (x1); valid classes: a, b, c" in message
    assert "column 'y' is empty in 1 row (e.g. id 6)" in message


def test_integer_labels_match_whatever_their_dtype() -> None:
    labels = pd.DataFrame({"id": [1, 2, 3], "y": [0, 1, 1]})
    for column in (["0", "1", "1"], [0.0, 1.0, 1.0], np.array([0, 1, 1], dtype=np.int32)):
        predictions = pd.DataFrame({"id": [1, 2, 3], "y": column})
        aligned = validate_predictions(
            predictions, labels, id_column="id", target="y", task="binary", classes=[0, 1]
        )
        assert aligned["y"].tolist() == [0, 1, 1]
        assert aligned["y"].dtype == np.int64


def test_probability_columns_are_checked() -> None:
    base = pd.DataFrame({"id": [1, 2, 3, 4, 5, 6], "y": ["a", "b", "c", "a", "b", "c"]})
    good = base.assign(proba_a=0.5, proba_b=0.25, proba_c=0.25)
    aligned = _check(good, "multiclass", classes=["a", "b", "c"])
    assert list(aligned.columns) == ["id", "y", "proba_a", "proba_b", "proba_c"]

    message = _message(base.assign(proba_a=0.5, proba_b=0.5), "multiclass", classes=["a", "b", "c"])
    assert "probability column(s) proba_c are missing" in message
    message = _message(good.assign(proba_z=0.0), "multiclass", classes=["a", "b", "c"])
    assert "'proba_z' do not name a class; expected proba_a, proba_b, proba_c" in message
    outside = good.assign(proba_a=[1.5, 0.5, 0.5, 0.5, 0.5, 0.5])
    assert "outside [0, 1] in 1 row (e.g. id 1)" in _message(outside, "multiclass")
    unnormalised = good.assign(proba_a=[0.9, 0.5, 0.5, 0.5, 0.5, 0.6])
    message = _message(unnormalised, "multiclass")
    assert "do not sum to 1 across the classes in 2 rows (e.g. id 1, 6)" in message


def test_rows_that_nearly_sum_to_one_are_rescaled() -> None:
    base = pd.DataFrame({"id": [1, 2, 3, 4, 5, 6], "y": ["a", "b", "c", "a", "b", "c"]})
    nearly = base.assign(proba_a=0.5004, proba_b=0.25, proba_c=0.25)
    aligned = _check(nearly, "multiclass")
    sums = aligned[["proba_a", "proba_b", "proba_c"]].sum(axis=1)
    assert np.allclose(sums, 1.0, rtol=0, atol=1e-12)


def test_binary_accepts_the_positive_probability_alone_and_labels_from_argmax() -> None:
    labels = pd.DataFrame({"id": [1, 2, 3], "y": ["no", "yes", "yes"]})
    predictions = pd.DataFrame({"id": [3, 2, 1], "proba_yes": [0.8, 0.4, 0.1]})
    aligned = validate_predictions(
        predictions, labels, id_column="id", target="y", task="binary", classes=["no", "yes"]
    )
    assert aligned["proba_no"].tolist() == pytest.approx([0.9, 0.6, 0.2])
    assert aligned["y"].tolist() == ["no", "no", "yes"]


def test_host_errors_in_the_labels_are_not_blamed_on_the_team() -> None:
    predictions = pd.DataFrame({"id": [1], "y": [1.0]})
    with pytest.raises(LabelsError, match="test_labels: missing column"):
        validate_predictions(
            predictions, pd.DataFrame({"id": [1]}), id_column="id", target="y", task="regression"
        )
    with pytest.raises(LabelsError, match="repeats ids"):
        validate_predictions(
            predictions,
            pd.DataFrame({"id": [1, 1], "y": [1.0, 2.0]}),
            id_column="id",
            target="y",
            task="regression",
        )
    with pytest.raises(ValueError, match="unknown task 'ranking'"):
        validate_predictions(predictions, _labels(), id_column="id", target="y", task="ranking")


def test_integer_ids_of_any_dtype_are_matched_as_numbers_with_the_same_messages() -> None:
    labels = pd.DataFrame({"id": np.arange(1, 7, dtype=np.int32), "y": np.arange(1.0, 7.0)})
    ids = [6, 5, 4, 3, 2, 1]
    for column in (ids, [float(i) for i in ids], [str(i) for i in ids], np.array(ids, "uint8")):
        predictions = pd.DataFrame({"id": column, "y": [6.0, 5, 4, 3, 2, 1]})
        aligned = validate_predictions(
            predictions, labels, id_column="id", target="y", task="regression"
        )
        assert aligned["y"].tolist() == [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    for column in ([1, 1, 2, 9], [1.0, 1.0, 2.0, 9.0], ["1", "1", "2", "9"]):
        predictions = pd.DataFrame({"id": column, "y": [0.0] * 4})
        with pytest.raises(InvalidPredictionsError) as caught:
            validate_predictions(predictions, labels, id_column="id", target="y", task="regression")
        message = str(caught.value)
        assert "1 id appear more than once: 1 (x2)" in message
        assert "4 ids of the test set are missing: 3, 4, 5, 6" in message
        assert "1 id are not in the test set: 9" in message


def test_numbers_and_text_stay_distinct_where_their_text_differs() -> None:
    labels = pd.DataFrame({"id": [1, 2], "y": [0, 1]})
    for classes, column in (([0, 1], [True, False]), (["0", "1"], [0.5, 1.0])):
        predictions = pd.DataFrame({"id": [1, 2], "y": column})
        with pytest.raises(InvalidPredictionsError, match="not classes"):
            validate_predictions(
                predictions, labels, id_column="id", target="y", task="binary", classes=classes
            )
    assert encode_labels(np.array([2.0, 7.0]), ["7", 2]).tolist() == [1, 0]
    with pytest.raises(ValueError, match="not among the classes"):
        encode_labels(np.array([2, 3]), [2.0, 7.0])


def test_prepared_labels_give_what_the_frame_gives_and_refuse_other_settings() -> None:
    labels = pd.DataFrame(
        {"id": [3, 1, 2, 4], "y": ["b", "a", "b", "a"], "split": ["Public ", "private"] * 2}
    )
    hidden = prepare_labels(labels, id_column="id", target="y", task="binary")
    assert hidden.classes == ["a", "b"] and hidden.id_numbers is not None
    assert {k: v.tolist() for k, v in hidden.splits.items()} == {
        "public": [True, False, True, False],
        "private": [False, True, False, True],
    }
    predictions = pd.DataFrame({"id": ["4", "3", "2", "1"], "y": ["a", "b", "a", "a"]})
    common = {"id_column": "id", "target": "y", "task": "binary"}
    assert validate_predictions(predictions, hidden, **common).equals(
        validate_predictions(predictions, labels, **common)
    )
    with pytest.raises(ValueError, match="prepared for other settings"):
        validate_predictions(predictions, hidden, **{**common, "task": "multiclass"})
    with pytest.raises(LabelsError, match="repeats ids"):
        prepare_labels(labels.assign(id=[1, 1, 2, 3]), **common)
    with pytest.raises(LabelsError, match="'split' has value"):
        prepare_labels(labels.assign(split=["public", "test"] * 2), **common)
