"""Rerun the follow-up paper's Fashion-MNIST table (docs/results.md), or any rows and seeds
of it, and regenerate the table and its figures from the runs' evidence.

    python bench/reproduce_table.py --list                       # each row's seeds: done, going, not run
    python bench/reproduce_table.py --rows drn-1h-ep relu-1h     # seeds 0 1 2 of two rows
    python bench/reproduce_table.py --rows drn-3h-ep --seeds 0 1 2 --jobs 2
    python bench/reproduce_table.py --rows drn-2h-ep --device cuda
    python bench/reproduce_table.py --collect                    # no training: finished runs to docs/runs, table
    python bench/reproduce_table.py --table                      # no training: table and figures from docs/runs

What it does, in order:

1. **Runs.** Each (row, seed) asked for is trained by its row's shipped config with
   ``resim train --config examples/<config> --seed K --out RUNS/<row>/seed<K>``
   (RUNS is --runs, default ``runs/table``). A run that finished is left alone; one
   interrupted after an epoch continues from its checkpoint (``--resume``); one stopped
   before its first epoch starts again. --jobs runs that many at once, each on
   2 / --jobs cores (``--threads``); once the last has started, a core that a finished run
   leaves goes to a run still going (stopped after its next checkpoint, resumed on two
   threads; not with --threads or --device). Each run's output goes to
   ``RUNS/<row>/seed<K>.log``, and the resim commit it started from to ``seed<K>.commit``.
   Ctrl-C stops the runs at their last checkpoint; the same command goes on from there.
2. **Evidence.** Each finished run's per-epoch metrics are copied to
   ``docs/runs/<row>/seed<K>.csv``, and its resolved config to ``seed<K>.toml`` under a
   comment naming the commit, the date and the command that made it. No checkpoint is
   kept.
3. **Table.** The table at the top of docs/results.md (between its ``table`` markers) is
   rewritten from docs/runs alone: for each row the mean +- standard deviation of the
   final test and train errors over its seeds, its verdict against the published figure,
   and its command; then the figures of the models that have runs.
   tests/test_docs_runs.py checks that it matches the CSVs.
4. **Figures.** docs/fashion_1h.png, _2h.png and _3h.png: test and train error per epoch,
   EP against TBP against the ReLU network, each row's seeds as a band
   (``resim plot docs/runs/<row> ...`` draws the same).

Engines: the DRN-1H rows train on numpy float32 (their shipped configs). DRN-2H and DRN-3H
by TBP train on the torch engine with bfloat16 products (``--backend torch --precision
bfloat16``, resim[torch]), 1.6-2x faster on this CPU with the same test error
(docs/results.md). DRN-2H and DRN-3H by EP train on torch in float32 (``--backend
torch``): EP's update is a difference of two nudged states, which bfloat16's rounding of
the products swamps behind two or more hidden layers (DRN-2H by EP in bfloat16: 2.6
points more test error after 10 epochs, 11.44 % after 100; docs/results.md). With --device
cuda every DRN row runs on torch on the GPU, in its row's precision (the ReLU networks
stay on numpy: they take minutes).

Expected time of one seed (100 epochs), alone on the machine:

    row          2-core CPU (AMD EPYC Zen 4)     GPU (estimate, not measured)
    drn-1h-ep     16 min (9.5 s/epoch, numpy)    about 8 min   (240 torch ops per batch)
    drn-1h-tbp    27 min (16 s/epoch, numpy)     about 8 min   (270)
    relu-1h        5 min (2.9 s/epoch)           (runs on the CPU)
    drn-2h-ep     85 min (50 s/epoch, float32)   about 17 min  (530)
    drn-2h-tbp    75 min (45 s/epoch, bf16)      about 19 min  (610)
    relu-2h        8 min (4.8 s/epoch)           (runs on the CPU)
    drn-3h-ep    185 min (110 s/epoch, float32)  about 25 min  (810)
    drn-3h-tbp   175 min (105 s/epoch, bf16)     about 31 min  (980)
    relu-3h       12 min (6.9 s/epoch)           (runs on the CPU)

The CPU figures are measured: docs/benchmarks.md's ("Training on the torch engine"), but
drn-2h-ep's and drn-3h-ep's, from their seed-0 runs on 2 threads, alone (2H: epochs 22-34,
47-53 s; 3H: epoch 77, 110 s). Two runs at once (--jobs 2, one core each)
take 1.1-1.5x as long each but finish sooner together: drn-2h-tbp 66 s an epoch against
45 s alone, drn-1h-tbp 18 s against 16 s, and drn-3h-ep beside drn-3h-tbp (seed 0) 140 and
142 s, about 4 hours for the pair. All nine rows with three seeds take about 28 hours of the
2-core CPU alone.

No GPU has been lent to this project yet, so the GPU column is an estimate: at batch 32 a
GPU's arithmetic is idle (DRN-3H's 5 GFLOP per batch are microseconds) and each torch
operation costs its launch, about 10 us in eager PyTorch; the counts in brackets are the
top-level torch operations per batch, counted with torch.profiler on the CPU engine (1,875
batches per epoch). bench/gpu.py measures it on a machine with a GPU.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import csv
import datetime
import os
import shlex
import signal
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), os.pardir))
BF16 = ("--backend", "torch", "--precision", "bfloat16")
F32 = ("--backend", "torch")  # the configs' dtype, float32, for the products too


@dataclass(frozen=True)
class Row:
    """One row of the follow-up's table: its name (a folder under docs/runs), its label,
    its shipped config (relative to the repository), the engine options of its runs and the published test / train
    error (%)."""

    name: str
    label: str
    model: str
    rule: str
    config: str
    engine: tuple[str, ...]
    published: tuple[float, float]


ROWS = [
    Row("drn-1h-ep", "DRN-1H by EP", "1h", "EP", "examples/fashion_drn_1h_ep.toml", (), (10.38, 6.14)),
    Row("drn-1h-tbp", "DRN-1H by TBP", "1h", "TBP", "examples/fashion_drn_1h_tbp.toml", (), (10.31, 5.91)),
    Row("relu-1h", "ReLU-MLP 1H (784-512-10) by BP", "1h", "BP", "examples/relu_mlp_1h_fashion.toml", (), (10.20, 5.13)),
    Row("drn-2h-ep", "DRN-2H by EP", "2h", "EP", "examples/fashion_drn_2h_ep.toml", F32, (10.29, 6.20)),
    Row("drn-2h-tbp", "DRN-2H by TBP", "2h", "TBP", "examples/fashion_drn_2h_tbp.toml", BF16, (9.88, 4.88)),
    Row("relu-2h", "ReLU-MLP 2H (784-512-512-10) by BP", "2h", "BP", "examples/relu_mlp_2h_fashion.toml", (), (9.42, 2.78)),
    Row("drn-3h-ep", "DRN-3H by EP", "3h", "EP", "examples/fashion_drn_3h_ep.toml", F32, (11.23, 8.19)),
    Row("drn-3h-tbp", "DRN-3H by TBP", "3h", "TBP", "examples/fashion_drn_3h_tbp.toml", BF16, (9.79, 4.58)),
    Row("relu-3h", "ReLU-MLP 3H (784-512x3-10) by BP", "3h", "BP", "examples/relu_mlp_3h_fashion.toml", (), (9.55, 1.82)),
]
BY_NAME = {row.name: row for row in ROWS}

# Why a row's mean is above its published figure by more than its seeds' spread, where a reason is
# known (docs/results.md's notes say more). A row above without one says so.
REASONS: dict[str, str] = {}

TABLE_BEGIN = "<!-- table: made by bench/reproduce_table.py --table from docs/runs; do not edit by hand -->"
TABLE_END = "<!-- end of table -->"


# ---- runs -----------------------------------------------------------------------------------------------


def run_folder(runs: str, row: Row, seed: int) -> str:
    return os.path.join(runs, row.name, f"seed{seed}")


def epochs_of(row: Row) -> int:
    import tomllib

    with open(os.path.join(ROOT, row.config), "rb") as fh:
        return int(tomllib.load(fh)["training"].get("epochs", 100))


def epochs_done(folder: str) -> int:
    """How many epochs a run folder's metrics.csv holds (0 without one)."""
    try:
        with open(os.path.join(folder, "metrics.csv"), newline="") as fh:
            return sum(1 for _ in csv.DictReader(fh))
    except FileNotFoundError:
        return 0


def finished(folder: str, epochs: int) -> bool:
    return os.path.exists(os.path.join(folder, "model.npz")) and epochs_done(folder) >= epochs


def train_command(row: Row, seed: int, out: str, device: str | None) -> list[str]:
    """The `resim train` arguments of one seed of ``row`` (without --resume/--threads)."""
    engine = list(row.engine)
    if device and row.rule != "BP":
        engine = ["--backend", "torch", "--device", device] + (["--precision", "bfloat16"] if row.engine == BF16 else [])
    return ["resim", "train", "--config", row.config, "--out", out, "--seed", str(seed), *engine]


def head_commit() -> str:
    done = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    return done.stdout.strip() or "unknown"


class Runner:
    """Runs (row, seed) pairs, --jobs at a time, each a `resim train` child process.

    When the last pair has started and a run ends, the cores it leaves are handed to the
    runs still going (unless --threads or --device fixed them): each is stopped right after
    its next checkpoint and resumed on more threads, so that the last of a --jobs 2 batch
    does not finish on one core beside an idle one."""

    POLL = 2.0  # seconds between looks at a checkpoint's time

    def __init__(self, runs: str, jobs: int, device: str | None, threads: int | None = None,
                 pairs: int = 0) -> None:
        self.runs, self.device = runs, device
        self.cores = max(1, min(2, os.cpu_count() or 1))
        self.threads = threads or max(1, self.cores // jobs)
        self.regrows = threads is None and device is None
        self.pairs, self.started = pairs, 0  # pairs to run, and how many of them have started
        self.going: dict[tuple[str, int], tuple[subprocess.Popen, int, str]] = {}  # child, threads, folder
        self.grow: dict[tuple[str, int], int] = {}  # the threads a run resumes on once it stops
        self.lock = threading.Lock()
        self.stopping = False

    def run(self, row: Row, seed: int) -> int:
        out = run_folder(self.runs, row, seed)
        epochs = epochs_of(row)
        with self.lock:
            self.started += 1
        if finished(out, epochs):
            say(f"{row.name} seed {seed}: finished before ({out})")
            self.share_cores()
            return 0
        os.makedirs(os.path.dirname(out), exist_ok=True)
        commit = out + ".commit"
        if not os.path.exists(commit):
            with open(commit, "w") as fh:
                fh.write(head_commit() + "\n")
        started, threads, key = time.monotonic(), self.threads, (row.name, seed)
        while True:
            child = self.start(row, seed, out, threads)
            if child is None:
                return 130
            code = child.wait()
            with self.lock:
                del self.going[key]
                grow = self.grow.pop(key, None)
            if code == 0 or grow is None or self.stopping or finished(out, epochs):
                break
            say(f"{row.name} seed {seed}: the other runs are done, so on to {grow} cores")
            threads = grow
        minutes = (time.monotonic() - started) / 60
        state = "finished" if code == 0 else f"stopped (exit code {code}; see {out}.log)"
        say(f"{row.name} seed {seed}: {state} after {minutes:.1f} min, {epochs_done(out)} of {epochs} epochs")
        self.share_cores()
        return code

    def start(self, row: Row, seed: int, out: str, threads: int) -> subprocess.Popen | None:
        """Start (or resume) one run on ``threads`` cores; None once stopping."""
        args = train_command(row, seed, out, self.device) + ["--threads", str(threads)]
        if os.path.exists(os.path.join(out, "checkpoint.npz")):
            args.append("--resume")
        elif os.path.exists(os.path.join(out, "config.resolved.toml")):
            args.append("--overwrite")  # stopped before its first epoch: nothing to keep
        say(f"{row.name} seed {seed}: {'resumed at epoch ' + str(epochs_done(out) + 1) if '--resume' in args else 'started'}"
            f" ({shlex.join(args)}; its output in {out}.log)")
        with self.lock:
            if self.stopping:
                return None
            with open(out + ".log", "a") as log:
                child = subprocess.Popen([sys.executable, "-m", "resim", *args[1:]], cwd=ROOT, stdout=log,
                                         stderr=subprocess.STDOUT, start_new_session=True)
            self.going[(row.name, seed)] = (child, threads, out)
        return child

    def share_cores(self) -> None:
        """Once every pair has started, give the cores that no run uses to the runs going."""
        with self.lock:
            if not self.regrows or self.stopping or self.started < self.pairs:
                return
            free = self.cores - sum(threads for _, threads, _ in self.going.values())
            for key, (child, threads, folder) in self.going.items():
                if free > 0 and key not in self.grow:
                    self.grow[key] = threads + free
                    free = 0
                    threading.Thread(target=self.stop_after_checkpoint, args=(child, folder), daemon=True).start()

    def stop_after_checkpoint(self, child: subprocess.Popen, folder: str) -> None:
        """Stop ``child`` as soon as its run folder holds a new checkpoint (it then resumes
        from there having lost nothing). SIGTERM: a run started in the background ignores SIGINT."""
        path = os.path.join(folder, "checkpoint.npz")
        seen = mtime(path)
        while child.poll() is None and mtime(path) == seen and not self.stopping:
            time.sleep(self.POLL)
        if child.poll() is None and not self.stopping:
            child.terminate()

    def stop(self) -> None:
        """Ctrl-C: each child stops as resim train does on Ctrl-C, keeping its last checkpoint."""
        with self.lock:
            self.stopping = True
            children = [child for child, _, _ in self.going.values()]
            for child in children:
                child.send_signal(signal.SIGINT)
        for child in children:
            try:
                child.wait(timeout=120)
            except subprocess.TimeoutExpired:
                child.kill()


def mtime(path: str) -> tuple[int, int] | None:
    """When ``path`` was written, and its inode (an atomic write makes a new one): a checkpoint
    written again within a clock tick still reads as new."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return st.st_mtime_ns, st.st_ino


def say(text: str) -> None:
    print(f"[{datetime.datetime.now():%H:%M:%S}] {text}", flush=True)


# ---- evidence -------------------------------------------------------------------------------------------


def collect(runs: str, row: Row, seed: int, docs: str) -> bool:
    """Copy a finished run's metrics and config to docs/runs/<row>/seed<K>.csv/.toml; False
    when the run has not finished."""
    from resim.atomic import write_bytes

    folder = run_folder(runs, row, seed)
    if not finished(folder, epochs_of(row)):
        return False
    try:
        with open(folder + ".commit") as fh:
            commit = fh.read().strip()
    except FileNotFoundError:
        commit = head_commit()
    metrics = os.path.join(folder, "metrics.csv")
    made = datetime.datetime.fromtimestamp(os.path.getmtime(metrics), datetime.timezone.utc).date()
    command = shlex.join(train_command(row, seed, f"runs/table/{row.name}/seed{seed}", None))
    with open(os.path.join(folder, "config.resolved.toml")) as fh:
        resolved = fh.read()
    engine = _engine_line(resolved)
    target = os.path.join(docs, "runs", row.name)
    os.makedirs(target, exist_ok=True)
    with open(metrics, "rb") as fh:
        write_bytes(os.path.join(target, f"seed{seed}.csv"), fh.read())
    header = f"# made by resim {commit} on {made}: {command}{engine}\n# its config.resolved.toml:\n"
    write_bytes(os.path.join(target, f"seed{seed}.toml"), (header + resolved).encode())
    return True


def _engine_line(resolved: str) -> str:
    """`` (on torch bfloat16)`` when the resolved config names an engine the command does not."""
    import tomllib

    t = tomllib.loads(resolved).get("training", {})
    if t.get("backend", "numpy") == "numpy" or not t.get("backend"):
        return ""
    return f" (engine: {t['backend']} {t.get('device', 'cpu')} {t.get('precision') or t.get('dtype')})"


# ---- the table --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Finals:
    """A row's seeds (their numbers) and the final test and train error (%) of each."""

    seeds: list[int]
    test: list[float]
    train: list[float]
    seconds: list[float]


def finals(docs: str, row: Row) -> Finals:
    folder = os.path.join(docs, "runs", row.name)
    seeds, test, train, seconds = [], [], [], []
    names = sorted((int(n[4:-4]), n) for n in (os.listdir(folder) if os.path.isdir(folder) else [])
                   if n.startswith("seed") and n.endswith(".csv") and n[4:-4].isdigit())
    for seed, name in names:
        with open(os.path.join(folder, name), newline="") as fh:
            rows = list(csv.DictReader(fh))
        seeds.append(seed)
        test.append(100 * float(rows[-1]["test_error"]))
        train.append(100 * float(rows[-1]["train_error"]))
        seconds += [float(r["epoch_seconds"]) for r in rows]
    return Finals(seeds, test, train, seconds)


def mean_std(values: list[float]) -> str:
    """``10.48 ± 0.29`` over two or more seeds (the sample standard deviation), ``10.32`` for one."""
    if len(values) == 1:
        return f"{values[0]:.2f}"
    return f"{statistics.mean(values):.2f} ± {statistics.stdev(values):.2f}"


def verdict(row: Row, f: Finals) -> str:
    """Under, within one standard deviation, or above the published test error (with the
    reason); with one seed there is no deviation to judge by, and the verdict says so."""
    delta = statistics.mean(f.test) - row.published[0]
    if len(f.test) == 1:
        return f"{'under' if delta < 0 else 'above'} ({delta:+.2f}); one seed, no std to judge by"
    if abs(delta) <= statistics.stdev(f.test):
        return f"within one std ({delta:+.2f})"
    if delta < 0:
        return f"under ({delta:+.2f})"
    return f"above ({delta:+.2f}): " + REASONS.get(row.name, "no reason found yet")


def table(docs: str) -> str:
    """The markdown table of every row, from docs/runs alone."""
    lines = [TABLE_BEGIN,
             "| model | published test / train (%) | resim test / train (%), mean ± std | seeds | verdict (test) "
             "| s / epoch | command | curves |",
             "|---|---|---|---|---|---|---|---|"]
    done = {row.name: finals(docs, row) for row in ROWS}  # each row's CSVs read once
    for row in ROWS:
        f = done[row.name]
        published = f"{row.published[0]:.2f} / {row.published[1]:.2f}"
        command = f"`python bench/reproduce_table.py --rows {row.name}`"
        if not f.seeds:
            lines.append(f"| {row.label} | {published} | not run yet | 0 | | | {command} | |")
            continue
        engine = {BF16: "torch bf16", F32: "torch float32"}.get(row.engine, "numpy")
        seconds = f"{statistics.median(f.seconds):.1f} ({engine})"
        seeds = ", ".join(map(str, f.seeds))
        lines.append(f"| {row.label} | {published} | **{mean_std(f.test)}** / {mean_std(f.train)} | {seeds} | "
                     f"{verdict(row, f)} | {seconds} | {command} | [docs/runs/{row.name}](runs/{row.name}/) |")
    short = [f"{row.label.split(' (')[0]} ({len(done[row.name].seeds)})" for row in ROWS
             if len(done[row.name].seeds) < 3]
    if short:
        lines += ["", "Rows with fewer than three seeds (how many they have): " + ", ".join(short) + "."]
    figures = [model for model in ("1h", "2h", "3h") if any(done[r.name].seeds for r in ROWS if r.model == model)]
    for model in figures:
        lines += ["", f"![{model.upper()}: test (solid) and train (dashed) error per epoch, the mean over seeds and "
                      f"their range]({figure_name(model)})"]
    lines.append(TABLE_END)
    return "\n".join(lines)


def figure_name(model: str) -> str:
    return f"fashion_{model}.png"


def write_table(docs: str) -> None:
    from resim.atomic import write_text

    path = os.path.join(docs, "results.md")
    with open(path) as fh:
        text = fh.read()
    begin, end = text.find(TABLE_BEGIN), text.find(TABLE_END)
    if begin < 0 or end < begin:
        raise SystemExit(f"{path}: no table markers ({TABLE_BEGIN!r} ... {TABLE_END!r}) to write the table between")
    write_text(path, text[:begin] + table(docs) + text[end + len(TABLE_END):])
    say(f"wrote the table in {path}")


def write_figures(docs: str) -> None:
    from resim.plot import write_plot

    for model in ("1h", "2h", "3h"):
        rows = [row for row in ROWS if row.model == model and finals(docs, row).seeds]
        if not rows:
            continue
        path = os.path.join(docs, figure_name(model))
        write_plot([os.path.join(docs, "runs", row.name) for row in rows], path,
                   [row.label.split(" (")[0] for row in rows],
                   f"Fashion-MNIST, {model.upper()}: the follow-up's setting (band: the seeds' range)")
        say(f"wrote {path} ({', '.join(row.name for row in rows)})")


# ---- the command ------------------------------------------------------------------------------------------


def status(runs: str, docs: str, seeds: list[int]) -> None:
    for row in ROWS:
        epochs = epochs_of(row)
        parts = []
        for seed in seeds:
            folder = run_folder(runs, row, seed)
            kept = os.path.exists(os.path.join(docs, "runs", row.name, f"seed{seed}.csv"))
            done = epochs_done(folder)
            state = ("finished" if finished(folder, epochs) else f"{done}/{epochs} epochs" if done
                     else "not started") + (", in docs/runs" if kept else "")
            parts.append(f"seed {seed}: {state}")
        print(f"{row.name:12s} " + "; ".join(parts))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", nargs="+", choices=[r.name for r in ROWS], metavar="ROW",
                    help=f"the rows to train (default: all): {', '.join(r.name for r in ROWS)}")
    ap.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2], metavar="K", help="default: 0 1 2")
    ap.add_argument("--jobs", type=int, default=1, help="runs at once (default 1; each on 2 / JOBS cores)")
    ap.add_argument("--threads", type=int, choices=[1, 2],
                    help="cores per run (default: 2 / --jobs); 1 beside other work on a 2-core machine")
    ap.add_argument("--device", help="cuda or cuda:N: the DRN rows on torch on that GPU")
    ap.add_argument("--runs", default=os.path.join(ROOT, "runs", "table"),
                    help="the run folders' root (default: runs/table; they are not kept in the repository)")
    ap.add_argument("--docs", default=os.path.join(ROOT, "docs"), help=argparse.SUPPRESS)
    ap.add_argument("--list", action="store_true", help="say where each row's seeds stand, and stop")
    ap.add_argument("--collect", action="store_true",
                    help="no training: copy the finished runs of --rows/--seeds to docs/runs, then write the table "
                         "and figures")
    ap.add_argument("--table", action="store_true", help="no training: write the table and figures from docs/runs")
    args = ap.parse_args()
    if any(k < 0 for k in args.seeds) or args.jobs < 1:
        ap.error("seeds are whole numbers from 0, and --jobs at least 1")
    sys.path.insert(0, ROOT)
    if args.list:
        status(args.runs, args.docs, args.seeds)
        return
    code = 0
    rows = [BY_NAME[n] for n in args.rows] if args.rows else ROWS
    pairs = [(row, seed) for row in rows for seed in args.seeds]
    if not args.table and not args.collect:
        runner = Runner(args.runs, args.jobs, args.device, args.threads, len(pairs))
        say(f"{len(pairs)} runs, {args.jobs} at a time on {runner.threads} core(s) each, in {args.runs}")
        pool = concurrent.futures.ThreadPoolExecutor(args.jobs)
        futures = [pool.submit(runner.run, row, seed) for row, seed in pairs]
        try:
            codes = [f.result() for f in futures]
        except KeyboardInterrupt:
            say("stopping: each run keeps its last checkpoint; the same command goes on from there")
            runner.stop()
            pool.shutdown(wait=True, cancel_futures=True)
            raise SystemExit(130)
        pool.shutdown()
        code = max(codes, default=0)
    if not args.table:
        for row, seed in pairs:
            if collect(args.runs, row, seed, args.docs):
                say(f"{row.name} seed {seed}: its metrics and config in docs/runs/{row.name}/seed{seed}.csv/.toml")
    write_table(args.docs)
    from resim.errors import ResimError

    try:
        write_figures(args.docs)
    except ResimError as err:  # matplotlib missing: the table stands, the figures wait for --table
        say(f"figures not redrawn: {err.message}" + (f" ({err.hint})" if err.hint else "")
            + "; then `python bench/reproduce_table.py --table` draws them from docs/runs")
        code = code or err.exit_code
    raise SystemExit(code)


if __name__ == "__main__":
    main()
