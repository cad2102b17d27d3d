"""Time to generate each built-in problem's data at a large size (issue 17: 1M test rows in 60 s).

    python bench/generation.py [--rows 1000000] [--problems beam-selection,...]

Each problem is generated in a fresh process (its chunks spread over the cores from 200,000 rows,
`challenge/problems/chunks.py`): wall seconds, CPU seconds of the process and its children, and
peak RSS. Prints a JSON summary with the machine's load averages; the machine may be shared, so
read the CPU seconds next to the wall time.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHILD = """
import json, resource, sys, time
from challenge.problems import get_problem
problem = get_problem(sys.argv[1])
started = time.perf_counter()
data = problem.generate(0, int(sys.argv[2]))
wall = time.perf_counter() - started
own = resource.getrusage(resource.RUSAGE_SELF)
kids = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({
    "wall_s": round(wall, 1),
    "cpu_s": round(own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime, 1),
    "peak_rss_mb": own.ru_maxrss // 1024,
    "test_rows": len(data.test),
    "train_rows": len(data.train),
}))
"""


def main() -> None:
    sys.path.insert(0, str(ROOT))
    from challenge.problems import problem_ids

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--problems", default=",".join(problem_ids()))
    args = parser.parse_args()
    load_before = os.getloadavg()
    results = {}
    for problem in args.problems.split(","):
        done = subprocess.run(
            [sys.executable, "-c", CHILD, problem, str(args.rows)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
        results[problem] = json.loads(done.stdout.strip().splitlines()[-1])
        print(problem, results[problem], file=sys.stderr, flush=True)
    summary = {
        "rows": args.rows,
        "problems": results,
        "target_wall_s": 60,
        "machine": {
            "cpus": os.cpu_count(),
            "load_before": [round(x, 2) for x in load_before],
            "load_after": [round(x, 2) for x in os.getloadavg()],
        },
    }
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
