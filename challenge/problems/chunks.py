"""Independent chunks of a simulation, computed in order, on every core for large data sets."""

from __future__ import annotations

import itertools
import multiprocessing
import os
import threading
from collections import deque
from collections.abc import Callable, Generator
from concurrent.futures import Future, ProcessPoolExecutor
from typing import TypeVar

T = TypeVar("T")
PARALLEL_ROWS = 200_000
"""From this many rows a simulator spreads its chunks over the machine's cores."""


def one_blas_thread() -> None:
    """Limit BLAS to one thread in this (worker) process."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1, user_api="blas")


def usable_cores() -> int:
    """The cores this process may run on."""
    return len(os.sched_getaffinity(0))


def ordered_chunks(make: Callable[[int], T], *, parallel: bool) -> Generator[T, None, None]:
    """`make(0)`, `make(1)`, ... in that order, for as long as the caller iterates.

    With `parallel`, more than one core, and a process that may fork safely (one thread, not a
    daemon such as a Celery pool child), the chunks are made in forked worker processes, two per
    core in flight: the results are the same as in one process, since each chunk seeds its own
    generator. `make` must be picklable (a module-level function or a partial of one).

    BLAS runs on one thread meanwhile: a chunk's matrix products are small, and with a BLAS
    thread per core in every worker process the threads spun against each other (beam-selection
    at 1M rows took 109 CPU-seconds on 2 cores, 3 times its work).
    """
    from threadpoolctl import threadpool_limits

    cores = usable_cores()
    forkable = threading.active_count() == 1 and not multiprocessing.current_process().daemon
    if not parallel or cores < 2 or not forkable:
        with threadpool_limits(limits=1, user_api="blas"):
            yield from map(make, itertools.count())
        return
    pool = ProcessPoolExecutor(
        cores, mp_context=multiprocessing.get_context("fork"), initializer=one_blas_thread
    )
    try:
        pending: deque[Future[T]] = deque()
        for index in itertools.count():
            while len(pending) < 2 * cores:
                pending.append(pool.submit(make, index + len(pending)))
            yield pending.popleft().result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
