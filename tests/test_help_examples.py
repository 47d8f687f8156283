"""Every example in ``resim --help`` and ``resim solve --help`` runs and succeeds."""

import re
import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner

from resim.cli import main
from resim.cli.simulate import solve

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = sorted({line.strip() for cmd in (main, solve) for line in (cmd.help or "").splitlines()
                   if line.strip().startswith("resim ")})


def test_there_are_examples():
    assert len(EXAMPLES) >= 3


@pytest.mark.parametrize("example", EXAMPLES)
def test_help_example_runs(example, tmp_path, monkeypatch):
    monkeypatch.chdir(REPO)
    args = shlex.split(example)[1:]
    args = [str(tmp_path / a) if re.fullmatch(r"[\w.]+\.(json|csv|txt|npz|png|svg|pdf)", a) else a for a in args]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
