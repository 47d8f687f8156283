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
