"""Where the chunks of a sweep run: this process, local worker processes, or a Dask cluster.

Every chunk goes through the same :func:`resim.sweep.solve_chunk`, and the results are put
back in point order, so the answer does not depend on where it was computed.

* ``jobs=1`` (default): here, chunk after chunk;
* ``jobs=N``: a pool of local processes (``concurrent.futures``), N at most and never more
  than there are chunks; each process receives the task once;
* ``scheduler="tcp://host:8786"``: a running Dask distributed scheduler (optional extra:
  ``pip install 'resim[distributed]'``); its workers need resim installed.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .errors import ResimError


class DistributedUnavailable(ResimError):
    """``--scheduler`` was given but Dask's distributed package is not installed."""

    exit_code = 2


def workers(jobs: int, n_chunks: int) -> int:
    """Local processes to start for ``jobs`` and ``n_chunks`` chunks: no more than can get one."""
    return max(1, min(jobs, n_chunks))


def run_chunks(task, points: np.ndarray, chunks: list[tuple[int, int]], *, jobs: int = 1,
               scheduler: str | None = None, progress: Callable[[int, int], None] | None = None) -> list:
    """``solve_chunk(task, points[a:b])`` for every chunk ``(a, b)``, in chunk order."""
    from .sweep import solve_chunk

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
        try:
            from distributed import Client, as_completed
        except ImportError:
            raise DistributedUnavailable(
                "--scheduler needs Dask's distributed package, which is not installed",
                hint="pip install 'resim[distributed]'  (or run without --scheduler, or with --jobs N)",
            ) from None
        with Client(scheduler) as client:
            remote_task = client.scatter(task, broadcast=True)
            futures = [client.submit(solve_chunk, remote_task, piece, pure=False) for piece in pieces]
            index = {f.key: k for k, f in enumerate(futures)}
            for future in as_completed(futures):
                finished(index[future.key], future.result())
        return results
    n_workers = workers(jobs, len(pieces))
    if n_workers > 1:
        from concurrent.futures import ProcessPoolExecutor, as_completed as done_first

        with ProcessPoolExecutor(max_workers=n_workers, initializer=_receive, initargs=(task,)) as pool:
            futures = {pool.submit(_solve_received, piece): k for k, piece in enumerate(pieces)}
            for future in done_first(futures):
                finished(futures[future], future.result())
        return results
    for k, piece in enumerate(pieces):
        finished(k, solve_chunk(task, piece))
    return results


_task = None  # in a worker process: the task :func:`_receive` was given


def _receive(task) -> None:
    """Worker initializer: keep the task (pickled once per worker, not once per chunk)."""
    global _task
    _task = task


def _solve_received(piece: np.ndarray):
    from .sweep import solve_chunk

    return solve_chunk(_task, piece)
