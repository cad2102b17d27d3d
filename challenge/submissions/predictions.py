"""A `predictions` upload checked for shape before it is queued: found here, it uses no quota.

Row count, ids (missing, repeated, unknown), empty values and unknown classes are refused with a
422 that says what to fix. The file is parsed by the sandbox's own bounded reader (the one the
worker uses, in a child under memory and time limits) and compared with the public test features
only: the hidden labels stay in the worker.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq

from challenge.errors import ValidationFailed
from challenge.scoring import id_problems
from mlfo.intent import Intent
from sandbox import OutputInvalid, parse_predictions

FIX = "fix the file and upload it again (nothing was queued and no submission was used)"


def check_predictions(path: Path, *, intent: Intent, test_path: Path, max_bytes: int) -> None:
    """Raise ValidationFailed when the predictions file could not be scored as it is."""
    id_column = intent.id_column
    try:
        predictions = parse_predictions(
            path,
            features_path=test_path,
            id_column=id_column,
            target=intent.target,
            task=str(intent.task),
            classes=intent.classes,
            max_bytes=max_bytes,
        )
    except OutputInvalid as exc:
        raise ValidationFailed(f"{exc}; {FIX}") from exc
    except (TypeError, ValueError, KeyError) as exc:
        raise ValidationFailed(f"the predictions have unusable values ({exc}); {FIX}") from exc
    test_ids = pq.read_table(test_path, columns=[id_column]).column(0).to_pandas()
    problems = id_problems(predictions[id_column], test_ids, id_column=id_column)
    if problems:
        raise ValidationFailed(
            "the predictions do not match the test set: " + "; ".join(problems) + f"; {FIX}"
        )
