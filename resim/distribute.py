"""Where the chunks of a sweep run: this process, local worker processes, or a Dask cluster.

Every chunk goes through the same function, given by the caller (:func:`resim.sweep.solve_chunk`
for ``resim sweep``: passed in, so that this module does not import the sweep that imports
it), and the results are put back in point order, so the answer does not depend on where it
was computed.

* ``jobs=1`` (default): here, chunk after chunk;
* ``jobs=N``: a pool of local processes (``concurrent.futures``), N at most and never more
  than there are chunks; each process receives the task once;
* ``scheduler="tcp://host:8786"``: a running Dask distributed scheduler (optional extra:
  ``pip install 'resim[distributed]'``), reached within ``scheduler_timeout`` seconds or
  refused with a clear error (:mod:`resim.scheduler`); its workers need resim installed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .scheduler import DEFAULT_TIMEOUT, connect


def workers(jobs: int, n_chunks: int) -> int:
    """Local processes to start for ``jobs`` and ``n_chunks`` chunks: no more than can get one."""
    return max(1, min(jobs, n_chunks))


def run_chunks(fn: Callable[[Any, np.ndarray], Any], task, points: np.ndarray, chunks: list[tuple[int, int]], *,
               jobs: int = 1, scheduler: str | None = None, scheduler_timeout: float = DEFAULT_TIMEOUT,
               progress: Callable[[int, int], None] | None = None) -> list:
    """``fn(task, points[a:b])`` for every chunk ``(a, b)``, in chunk order.

    ``fn`` must be a module-level function and ``task`` picklable: worker processes and
    Dask workers receive both pickled (a function pickles as its module and name).
    ``progress(done, total)`` is called with the points finished as each chunk finishes."""
    pieces = [points[a:b] for a, b in chunks]
    total = len(points)
    done = 0
    results: list = [None] * len(pieces)

    def finished(k: int, value) -> None:
        nonlocal done
        results[k] = value
        done += len(pieces[k])
        if progress is not None:
            progress(done, total)

    if scheduler:
        with connect(scheduler, scheduler_timeout) as client:
            from distributed import as_completed

            remote_task = client.scatter(task, broadcast=True)
            futures = [client.submit(fn, remote_task, piece, pure=False) for piece in pieces]
            index = {f.key: k for k, f in enumerate(futures)}
            for future in as_completed(futures):
                finished(index[future.key], future.result())
        return results
    n_workers = workers(jobs, len(pieces))
    if n_workers > 1:
        from concurrent.futures import ProcessPoolExecutor, as_completed as done_first

        pool = ProcessPoolExecutor(max_workers=n_workers, initializer=_receive, initargs=(fn, task))
        try:
            futures = {pool.submit(_solve_received, piece): k for k, piece in enumerate(pieces)}
            for future in done_first(futures):
                finished(futures[future], future.result())
        except BaseException:  # Ctrl-C or a failed chunk: drop what is queued, stop the workers
            _stop(pool)
            raise
        pool.shutdown()
        return results
    for k, piece in enumerate(pieces):
        finished(k, fn(task, piece))
    return results


def _stop(pool) -> None:
    """Cancel ``pool``'s queued chunks and end its worker processes now (leaving the
    ``with`` block would wait for every queued chunk: Ctrl-C took as long as the sweep)."""
    processes = list((getattr(pool, "_processes", None) or {}).values())
    manager = getattr(pool, "_executor_manager_thread", None)  # (shutdown forgets it)
    pool.shutdown(wait=False, cancel_futures=True)
    processes += [p for p in (getattr(pool, "_processes", None) or {}).values() if p not in processes]
    for proc in processes:
        proc.terminate()
    for proc in processes:
        proc.join(timeout=5)
        if proc.is_alive():  # SIGTERM handled or ignored in the worker (an inherited handler)
            proc.kill()
            proc.join(timeout=5)
    # The pool's manager thread sees the workers die and joins them too. Two threads waiting
    # on one child race in waitpid: the loser gets ECHILD and reports the child alive until
    # the winner records its exit. Wait for that thread, so that no worker looks alive after.
    if manager is not None:
        manager.join(timeout=5)


_received: tuple = (None, None)  # in a worker process: the function and task :func:`_receive` was given


def _receive(fn: Callable[[Any, np.ndarray], Any], task) -> None:
    """Worker initializer: keep the function and the task (pickled once per worker, not
    once per chunk)."""
    global _received
    _received = (fn, task)


def _solve_received(piece: np.ndarray):
    fn, task = _received
    return fn(task, piece)
