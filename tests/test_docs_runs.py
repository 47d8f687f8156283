"""The evidence of finished training runs kept in the repository (docs/runs/<row>/): every
``seed<k>.csv`` is a whole run's per-epoch metrics as ``resim train`` writes them, with its
configuration and the commit that made it beside it (``seed<k>.toml``)."""

from __future__ import annotations

import csv
import re
import tomllib
from pathlib import Path

import pytest

from resim.drn.config import check
from resim.drn.runs import METRICS

RUNS = Path(__file__).resolve().parents[1] / "docs" / "runs"
CSVS = sorted(RUNS.glob("*/seed*.csv"))


def test_there_is_evidence_to_check():
    assert len(CSVS) >= 2, f"no run metrics under {RUNS}"


@pytest.mark.parametrize("path", CSVS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_each_run_parses_with_its_config_and_commit(path):
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert rows and list(rows[0]) == list(METRICS)
    assert [int(r["epoch"]) for r in rows] == list(range(1, len(rows) + 1))
    for r in rows:
        assert 0.0 <= float(r["train_error"]) <= 1.0 and 0.0 <= float(r["test_error"]) <= 1.0
        assert float(r["epoch_seconds"]) > 0
    text = path.with_suffix(".toml").read_text()
    assert re.match(r"# made by resim [0-9a-f]{7,40} on \d{4}-\d{2}-\d{2}: resim train ", text)
    config = check(tomllib.loads(text), text, str(path.with_suffix(".toml")))
    assert config["training"]["epochs"] == len(rows)
    assert config["training"]["seed"] == int(path.stem.removeprefix("seed"))


# ---- the table of docs/results.md against its evidence --------------------------------------------------

RESULTS = RUNS.parent / "results.md"


def _table_rows() -> list[list[str]]:
    """The cells of each row of the generated table in docs/results.md."""
    text = RESULTS.read_text()
    begin = text.index("<!-- table: made by bench/reproduce_table.py")
    end = text.index("<!-- end of table -->", begin)
    lines = [line for line in text[begin:end].splitlines() if line.startswith("| ")]
    return [[cell.strip() for cell in line.strip("|").split("|")] for line in lines[1:]]


def _figure(values: list[float]) -> str:
    """How the table writes a mean over seeds: ``10.48 ± 0.29`` (sample std), one seed as ``10.32``."""
    if len(values) == 1:
        return f"{values[0]:.2f}"
    mean = sum(values) / len(values)
    std = (sum((v - mean) ** 2 for v in values) / (len(values) - 1)) ** 0.5
    return f"{mean:.2f} ± {std:.2f}"


def test_the_table_has_the_nine_rows_of_the_follow_up():
    rows = _table_rows()
    assert len(rows) == 9 and all(len(r) == 8 for r in rows), rows


@pytest.mark.parametrize("cells", _table_rows(), ids=lambda cells: cells[0])
def test_each_table_row_is_the_final_epoch_of_its_committed_runs(cells):
    """Mean ± std of the final test and train errors over the CSVs under the row's curves
    folder, and its seeds, as the table gives them: the table cannot drift from its evidence."""
    model, _, figures, seeds, _, _, command, curves = cells
    name = re.search(r"--rows ([\w-]+)", command).group(1)
    csvs = sorted(RUNS.glob(f"{name}/seed*.csv"), key=lambda p: int(p.stem.removeprefix("seed")))
    if figures == "not run yet":
        assert not csvs and seeds == "0"
        return
    assert f"(runs/{name}/)" in curves and csvs, f"{model}: no curves for its figures"
    finals = []
    for path in csvs:
        with open(path, newline="") as fh:
            finals.append(list(csv.DictReader(fh))[-1])
    test = [100 * float(r["test_error"]) for r in finals]
    train = [100 * float(r["train_error"]) for r in finals]
    assert figures == f"**{_figure(test)}** / {_figure(train)}"
    assert seeds == ", ".join(p.stem.removeprefix("seed") for p in csvs)
