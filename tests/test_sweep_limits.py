"""``resim sweep`` at its limits: grids too large to hold are refused up front (exit 2,
naming the option and the count), ``--jobs`` never starts more processes than there are
chunks, and the numbers are the same, bit for bit, whatever ``--jobs`` is.

Truth for the last one is the sweep in this process (``--jobs 1``): the chunk boundaries
must not move with ``--jobs``, or a point's batch (and warm start) changes and its last
digits with it (they did: 3e-15 V on ``drn_tiny.cir``).
"""

from __future__ import annotations

import concurrent.futures

import numpy as np
import pytest

from resim.cli import run_args
from resim.sweep import Axis, run_sweep
from resim.sweep_output import to_csv


@pytest.fixture(scope="module")
def drn_tiny(netlists_dir):
    return str(netlists_dir / "drn_tiny.cir")


def cli(capsys, *args: str) -> tuple[int, str, str]:
    code = run_args(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("args, message", [
    (("--dc", "V1p", "0", "10", "1e-12"), "--dc V1p from 0 to 10 in steps of 1e-12: 10,000,000,000,001 points"),
    (("--dc", "V1p", "-1e308", "1e308", "1e-300"),
     "--dc V1p from -1e+308 to 1e+308 in steps of 1e-300: too many points"),
    (("--param", "R11=1:2:100000000"), "--param 'R11=1:2:100000000': 100,000,000 points"),
    (("--dc", "V1p", "0", "1", "1e-4", "--param", "R11=1:2:2000"),
     "the sweep has 20,002,000 points: v1p (10,001) x r11 (2,000)"),
])
def test_a_grid_too_large_is_a_usage_error_before_anything_is_allocated(capsys, drn_tiny, args, message):
    code, out, err = cli(capsys, "sweep", drn_tiny, *args)
    assert code == 2, err
    assert message in err and "more than a sweep may have (10,000,000)" in err
    assert "MemoryError" not in err and "Traceback" not in err and out == ""


def test_a_table_too_large_is_refused_but_fewer_probes_fit(capsys, tmp_path):
    """1,000,001 points are allowed, but not with 121 node voltages each (122 million numbers)."""
    path = tmp_path / "ladder.cir"
    path.write_text("ladder\nV1 n0 0 1\n" + "".join(f"R{k} n{k} n{k + 1} 1k\n" for k in range(120))
                    + "R120 n120 0 1k\n.end\n")
    code, out, err = cli(capsys, "sweep", str(path), "--dc", "V1", "0", "1", "1e-6")
    assert code == 2 and out == ""
    assert "122,000,122 numbers (1,000,001 points x 122 columns), more than 100,000,000" in err
    assert "--probe" in err  # the hint says what to do


class CountingPool(concurrent.futures.ProcessPoolExecutor):
    """A real process pool that records how many workers it was asked for."""

    started: list[int] = []

    def __init__(self, max_workers=None, **kwargs):
        CountingPool.started.append(max_workers)
        super().__init__(max_workers=max_workers, **kwargs)


@pytest.fixture
def counting_pool(monkeypatch):
    CountingPool.started = []
    monkeypatch.setattr(concurrent.futures, "ProcessPoolExecutor", CountingPool)
    return CountingPool.started


def test_jobs_never_starts_more_processes_than_chunks(capsys, counting_pool, drn_tiny):
    code, out, err = cli(capsys, "sweep", drn_tiny, "--param", "R11=1:3:3", "--jobs", "1000")
    assert code == 0, err
    assert counting_pool == []  # three points are one chunk: solved here, no pool at all
    serial = run_sweep(drn_tiny, [Axis("r11", "param", np.array([1.0, 2.0, 3.0]))])
    spread = run_sweep(drn_tiny, [Axis("r11", "param", np.array([1.0, 2.0, 3.0]))], jobs=1000, chunk_size=1)
    assert counting_pool == [3]  # three chunks: three processes, not a thousand
    assert out == to_csv(serial) == to_csv(spread)


@pytest.mark.parametrize("args", [
    ("--dc", "V1p", "0", "2", "0.02", "--dc", "V2p", "-1", "1", "0.1"),  # 2,121 points: three batches
    ("--param", "R11=1:3:150", "--method", "cd"),  # point by point, warm-started: three chunks
], ids=["batched", "warm-started"])
def test_results_are_bit_identical_whatever_jobs_is(capsys, counting_pool, drn_tiny, args):
    outputs = []
    for jobs in ("1", "2", "3"):
        code, out, err = cli(capsys, "sweep", drn_tiny, *args, "--jobs", jobs)
        assert code == 0, err
        outputs.append(out)
    assert counting_pool == [2, 3]  # the pools really ran
    assert outputs[0].count("\n") > 150
    assert outputs[1] == outputs[0] and outputs[2] == outputs[0]


def _slow_chunk(task, piece):
    """A chunk that takes a while and leaves a mark (a file per chunk) when it ran."""
    import time
    from pathlib import Path

    folder, delay = task
    time.sleep(delay)
    (Path(folder) / f"chunk{int(piece[0, 0])}").touch()
    return piece


def test_an_interrupted_pool_stops_its_workers_at_once(tmp_path):
    """Ctrl-C during `sweep --jobs 2` used to wait for every queued chunk (17.7 s of a
    20.7 s sweep). The interrupt (here from the progress callback, as the signal lands
    in the main thread) must cancel the queue and end the workers: of 40 chunks of
    0.3 s on 2 workers, only the few already running may finish, and no worker is left."""
    import multiprocessing

    from resim.distribute import run_chunks

    def interrupt(done, total):
        raise KeyboardInterrupt

    points = np.arange(40.0)[:, None]
    before = set(multiprocessing.active_children())  # other tests' pools may still be winding down
    with pytest.raises(KeyboardInterrupt):
        run_chunks(_slow_chunk, (str(tmp_path), 0.3), points, [(k, k + 1) for k in range(40)], jobs=2,
                   progress=interrupt)
    ran = len(list(tmp_path.glob("chunk*")))
    assert 1 <= ran <= 8, ran
    left = [p for p in multiprocessing.active_children() if p not in before]
    assert not [p for p in left if p.is_alive()], left
