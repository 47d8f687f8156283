"""bench/reproduce_table.py on a row small enough to train in seconds: it trains the seeds
asked for (two at once), resumes a run with a checkpoint, starts again one stopped before
its first epoch, leaves finished runs alone, copies their metrics and configs to docs/runs
and writes the table from them. The data are the real Fashion-MNIST IDX files (Debian's
dataset-fashion-mnist), 200 images."""

from __future__ import annotations

import csv
import importlib.util
import os
import re
import sys
from pathlib import Path

import pytest

from resim.drn import data as data_mod

SCRIPT = Path(__file__).resolve().parents[1] / "bench" / "reproduce_table.py"

TINY = f"""[model]
layers = [784, 16, 10]
input_gain = 4.0
[data]
dataset = "fashion-mnist"
data_dir = "{data_mod.DEBIAN_FASHION}"
train_limit = 200
test_limit = 50
flip = 0.5
[training]
epochs = 2
learning_rates = [0.02, 0.02]
"""

RESULTS = """# Results

<!-- table: made by bench/reproduce_table.py --table from docs/runs; do not edit by hand -->
an old table
<!-- end of table -->

Notes stay as they are.
"""


@pytest.fixture
def table(tmp_path, monkeypatch):
    """The script as a module whose only row is a tiny DRN, with its docs in tmp_path."""
    spec = importlib.util.spec_from_file_location("reproduce_table", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "reproduce_table", module)  # its dataclasses look themselves up there
    spec.loader.exec_module(module)
    config = tmp_path / "tiny.toml"
    config.write_text(TINY)
    row = module.Row("tiny", "DRN-tiny by EP", "1h", "EP", str(config), (), (80.0, 80.0))
    monkeypatch.setattr(module, "ROWS", [row])
    monkeypatch.setattr(module, "BY_NAME", {"tiny": row})
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "results.md").write_text(RESULTS)
    return module, tmp_path / "runs", docs


def main(module, monkeypatch, *args) -> int:
    monkeypatch.setattr(sys, "argv", ["reproduce_table.py", *map(str, args)])
    with pytest.raises(SystemExit) as info:
        module.main()
    return info.value.code


def test_runs_seeds_collects_them_and_writes_the_table(table, monkeypatch, capsys):
    module, runs, docs = table
    assert main(module, monkeypatch, "--rows", "tiny", "--seeds", "0", "1", "--jobs", "2",
                "--runs", runs, "--docs", docs) == 0
    for seed in (0, 1):
        with open(docs / "runs" / "tiny" / f"seed{seed}.csv", newline="") as fh:
            assert [r["epoch"] for r in csv.DictReader(fh)] == ["1", "2"]
        header = (docs / "runs" / "tiny" / f"seed{seed}.toml").read_text().splitlines()[0]
        assert re.fullmatch(rf"# made by resim \w+ on \d{{4}}-\d\d-\d\d: resim train --config \S+tiny.toml "
                            rf"--out runs/table/tiny/seed{seed} --seed {seed}", header), header
        assert f"seed = {seed}" in (runs / "tiny" / f"seed{seed}" / "config.resolved.toml").read_text()
    text = (docs / "results.md").read_text()
    assert "an old table" not in text and text.endswith("<!-- end of table -->\n\nNotes stay as they are.\n")
    row = next(line for line in text.splitlines() if line.startswith("| DRN-tiny"))
    assert " | 0, 1 | " in row and "[docs/runs/tiny](runs/tiny/)" in row and " ± " in row
    assert (docs / "fashion_1h.png").stat().st_size > 0
    # a second time: nothing to train
    assert main(module, monkeypatch, "--rows", "tiny", "--seeds", "0", "--runs", runs, "--docs", docs) == 0
    assert "seed 0: finished before" in capsys.readouterr().out


def test_an_interrupted_run_resumes_and_one_without_an_epoch_starts_again(table, monkeypatch, capsys):
    module, runs, docs = table
    assert main(module, monkeypatch, "--rows", "tiny", "--seeds", "0", "--runs", runs, "--docs", docs) == 0
    folder = runs / "tiny" / "seed0"
    metrics = (folder / "metrics.csv").read_text()
    os.unlink(folder / "model.npz")  # as if stopped after its last checkpoint
    empty = runs / "tiny" / "seed1"
    empty.mkdir()
    (empty / "config.resolved.toml").write_text("[training]\n")  # stopped before its first epoch
    capsys.readouterr()
    assert main(module, monkeypatch, "--rows", "tiny", "--seeds", "0", "1", "--runs", runs, "--docs", docs) == 0
    out = capsys.readouterr().out
    assert "seed 0: resumed at epoch 3" in out and "--resume" in out and "--overwrite" in out
    assert (folder / "model.npz").exists() and (folder / "metrics.csv").read_text() == metrics
    assert "seed = 1" in (empty / "config.resolved.toml").read_text()


def test_a_row_without_runs_is_listed_as_not_run(table, monkeypatch):
    module, runs, docs = table
    assert main(module, monkeypatch, "--table", "--runs", runs, "--docs", docs) == 0
    assert "| DRN-tiny by EP | 80.00 / 80.00 | not run yet | 0 |" in (docs / "results.md").read_text()


def test_without_matplotlib_the_table_is_written_and_the_figures_are_said_to_wait(table, monkeypatch, capsys):
    module, runs, docs = table
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now raises ImportError
    assert main(module, monkeypatch, "--rows", "tiny", "--seeds", "0", "--runs", runs, "--docs", docs) == 2
    assert (docs / "runs" / "tiny" / "seed0.csv").exists()  # the run's evidence is kept all the same
    assert main(module, monkeypatch, "--table", "--runs", runs, "--docs", docs) == 2
    out = capsys.readouterr().out
    assert "figures not redrawn: resim plot needs matplotlib" in out and "--table` draws them" in out
    assert "| DRN-tiny by EP | 80.00 / 80.00 | " in (docs / "results.md").read_text()
    assert not (docs / "fashion_1h.png").exists()


def test_the_last_run_going_takes_the_core_another_leaves(table, monkeypatch, capsys):
    """--jobs 2 on two cores: when the short run ends, the long one is stopped after its next
    checkpoint and resumed on both cores, its epochs neither lost nor repeated."""
    module, runs, docs = table
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    monkeypatch.setattr(module.Runner, "POLL", 0.02)
    long_config = runs.parent / "long.toml"
    long_config.write_text(TINY.replace("epochs = 2", "epochs = 80"))
    long = module.Row("long", "DRN-long by EP", "1h", "EP", str(long_config), (), (80.0, 80.0))
    monkeypatch.setattr(module, "ROWS", [*module.ROWS, long])
    monkeypatch.setattr(module, "BY_NAME", {**module.BY_NAME, "long": long})
    assert main(module, monkeypatch, "--rows", "tiny", "long", "--seeds", "0", "--jobs", "2",
                "--runs", runs, "--docs", docs) == 0
    out = capsys.readouterr().out
    assert "long seed 0: the other runs are done, so on to 2 cores" in out
    resumed = re.search(r"long seed 0: resumed at epoch (\d+) \(.*--threads 2 --resume", out)
    assert resumed and 1 < int(resumed[1]) <= 80, out
    with open(runs / "long" / "seed0" / "metrics.csv", newline="") as fh:
        assert [int(r["epoch"]) for r in csv.DictReader(fh)] == list(range(1, 81))
    assert re.search(r"long seed 0: started \(.*--threads 1;", out) and re.search(r"tiny seed 0: started \(.*--threads 1;", out)
