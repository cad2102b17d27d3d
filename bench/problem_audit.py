"""Audit the built-in problems for leaks and headroom, and print the figures as a Markdown table.

    .venv/bin/python bench/problem_audit.py [--size N] [problem-id ...]

For each problem (default: all seven, at their default size, seed 0): the share of test targets
found among the test features beyond chance, the order signal (z), train/test duplicates, and the
primary metric of the trivial predictor, the shipped baseline, a plain gradient-boosting model
(`boosted`) and the noise-floor oracle, with the baseline's bootstrap width on the public rows.
The checks are tests/problems/audit.py; tests/problems/test_invariants.py asserts them.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from challenge.problems import get_problem, problem_ids
from tests.problems import audit


def main() -> None:
    """Run the audit and print one row per problem."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("problems", nargs="*", default=problem_ids())
    parser.add_argument("--size", type=int, default=None, help="test rows (default per problem)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    head = "| problem | targets in features | order z | dup ids, rows | metric | trivial"
    print(head + " | baseline | boosted | oracle | baseline CI width | spread / width | s |")
    print("|---" * 12 + "|")
    for problem_id in args.problems:
        start = time.perf_counter()
        problem = get_problem(problem_id)
        data = problem.generate(args.seed, args.size)
        found = audit.target_in_features(problem, data)
        z = audit.order_signal(problem, data)
        ids, rows = audit.duplicated_rows(problem, data)
        row = audit.scores(problem, data).as_row()
        print(
            f"| {problem_id} | {found:.3f} | {z:.1f} | {ids}, {rows:.4f} | "
            f"{row['metric']} | {row['trivial']} | {row['baseline']} | {row['boosted']} | "
            f"{row['oracle']} | {row['baseline_ci_width']} | {row['spread_over_width']} | "
            f"{time.perf_counter() - start:.0f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
