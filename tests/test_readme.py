"""The README's Use section runs as written (issue 23, item 15).

Its ``sh`` block is run line by line, in order, by one bash with ``set -eo pipefail``, in a
working copy of ``examples/`` and ``netlists/`` under tmp_path, with HOME and the caches
in tmp_path. Two things differ from a user's run, so that the block takes seconds:

* the training configurations of the copy are shrunk (300 training and 100 test images,
  one epoch, 8 units per hidden layer): the commands and their files are the README's, the
  networks are small;
* ``resim serve`` (a server that runs until stopped) is left out; ``tests/test_server.py``
  tests it.

Every command must exit 0, write only under ``out/``, and what the README says of its
output must hold (the clipper's transfer curve, ``v(out)`` of the divider against its
closed form).
"""

from __future__ import annotations

import csv
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
NOT_RUN = ("resim serve",)


def use_block() -> list[str]:
    """The command lines of the first ``sh`` block after '## Use' (comments stripped)."""
    text = README.read_text(encoding="utf-8")
    block = re.search(r"^## Use\n.*?^```sh\n(.*?)^```", text, re.S | re.M).group(1)
    return [line for line in block.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def shrink(config: str) -> str:
    """A training config made small: 8 units per hidden layer, 300/100 images, one epoch."""
    def layers(m: re.Match) -> str:
        sizes = [int(v) for v in m.group(1).split(",")]
        return "layers = [" + ", ".join(str(v) for v in [sizes[0], *[8] * (len(sizes) - 2), sizes[-1]]) + "]"

    config = re.sub(r"^layers = \[([^\]]*)\]", layers, config, flags=re.M)
    config = re.sub(r"^epochs = \d+", "epochs = 1", config, flags=re.M)
    assert "train_limit" not in config and "[data]\n" in config
    return config.replace("[data]\n", "[data]\ntrain_limit = 300\ntest_limit = 100\n", 1)


def test_use_block_is_found():
    lines = use_block()
    assert lines[0].startswith(". .venv/bin/activate") and len(lines) > 15
    assert sum(line.startswith("resim train") for line in lines) >= 3


def test_readme_commands_write_under_out():
    """Every output path of the README's commands is under out/ (which git ignores)."""
    for line in use_block():
        code = line.split("  #")[0]
        for target in re.findall(r"(?:-o|--out|--plot|>)\s+(\S+)", code):
            assert target.startswith("out/"), line
    assert "out/" in (REPO / ".gitignore").read_text().split()


def test_readme_use_block_runs(tmp_path):
    work = tmp_path / "repo"
    work.mkdir()
    for folder in ("examples", "netlists"):
        shutil.copytree(REPO / folder, work / folder)
    for config in (work / "examples").glob("*.toml"):
        config.write_text(shrink(config.read_text()))
    bindir = Path(sys.executable).parent
    assert (bindir / "resim").is_file(), f"{bindir / 'resim'} missing: install resim into this interpreter's environment"
    (work / ".venv" / "bin").mkdir(parents=True)  # what `make demo` makes, as far as the block needs it
    (work / ".venv" / "bin" / "activate").write_text(f'export PATH="{bindir}:$PATH"\n')
    lines = [line for line in use_block() if not line.startswith(NOT_RUN)]
    script = "set -eo pipefail\n" + "".join(
        f"echo '>>> {i}' >&2\n{line}\n" for i, line in enumerate(lines))
    env = {**os.environ, "HOME": str(tmp_path / "home"), "XDG_CACHE_HOME": str(tmp_path / "cache"),
           "MPLCONFIGDIR": str(tmp_path / "mpl"), "COLUMNS": "120", "PATH": os.environ["PATH"]}
    run = subprocess.run(["bash", "-c", script], cwd=work, env=env, capture_output=True, text=True, timeout=600)
    failed = re.findall(r">>> (\d+)", run.stderr)
    assert run.returncode == 0, (f"README line failed (exit {run.returncode}): {lines[int(failed[-1])]}\n"
                                 f"{run.stdout[-3000:]}\n{run.stderr[-3000:]}")
    assert {p.name for p in work.iterdir()} == {"examples", "netlists", ".venv", "out"}
    out = work / "out"
    for name in ("op.json", "clipper.png", "divider.png", "net.cir", "curves.png", "tent.cir", "mlp.cir"):
        assert (out / name).stat().st_size > 0, name
    for png in ("clipper.png", "divider.png", "curves.png"):
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    for run_folder in ("xs", "1h", "relu_1h", "xl10"):
        assert (out / run_folder / "model.npz").is_file(), run_folder


def test_readme_sweep_probes_are_useful(tmp_path):
    """The README's sweeps record v(out): the divider's v(out) is its closed form
    V1 * (R2 || 4k) / (1k + R2 || 4k) (not v(in), which is just V1)."""
    line = next(l for l in use_block() if l.startswith("resim sweep netlists/divider.cir"))
    assert "--probe 'v(out)'" in line
    args = shlex.split(line.split("  #")[0])[1:]
    del args[args.index("--plot"):args.index("--plot") + 2]  # the CSV instead of the figure
    result = subprocess.run([str(Path(sys.executable).parent / "resim"), *args], cwd=REPO, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(result.stdout.splitlines()))
    assert len(rows) == 55
    for row in rows:
        v1, r2 = float(row["v1"]), float(row["r2"])
        par = r2 * 4e3 / (r2 + 4e3)
        assert abs(float(row["v(out)"]) - v1 * par / (1e3 + par)) < 1e-9
    clip = next(l for l in use_block() if l.startswith("resim sweep netlists/diode_clipper.cir"))
    assert "--probe 'v(out)'" in clip
