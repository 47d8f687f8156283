"""`resim plot`: learning curves of run folders (resim/plot.py), and its errors."""

import json
import math
import os
import re
import shlex
import stat
import subprocess
import sys

import pytest

from resim.cli import run_args
from resim.cli.train import plot_runs
from resim.plot import default_labels, read, read_csv, read_run, read_seeds

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
ROWS_A = [{"epoch": 1, "train_error": 0.2041, "test_error": 0.1685, "cost": 0.31, "epoch_seconds": 23.8,
           "samples_per_second": 2520.0},
          {"epoch": 2, "train_error": 0.1502, "test_error": 0.1433, "cost": 0.25, "epoch_seconds": 23.1,
           "samples_per_second": 2597.4},
          {"epoch": 3, "train_error": 0.1210, "test_error": 0.1390, "cost": 0.21, "epoch_seconds": 23.5,
           "samples_per_second": 2553.2}]
ROWS_B = [{"epoch": 1, "train_error": 0.3, "test_error": float("nan"), "cost": 0.4}]


def _run(root, name, rows=ROWS_A, tail=""):
    """A run folder ``root/name`` whose metrics.jsonl holds ``rows`` (then ``tail``)."""
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows) + tail)
    return str(folder)


def _csv(path, rows=ROWS_A, tail=""):
    """A metrics.csv at ``path`` (as resim train writes it, then ``tail``)."""
    columns = ["epoch", "train_error", "test_error", "cost", "epoch_seconds", "samples_per_second"]
    lines = [",".join(columns)] + [",".join(str(r.get(c, "")) for c in columns) for r in rows]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n" + tail)
    return str(path)


def _resim(capsys, *args):
    """Exit code and stderr of ``resim ARGS``."""
    code = run_args([str(a) for a in args])
    return code, capsys.readouterr().err


def test_read_run_gives_the_rows(tmp_path):
    curves = read_run(_run(tmp_path, "a"))
    assert curves.epoch.tolist() == [r["epoch"] for r in ROWS_A]
    assert curves.train_error.tolist() == [r["train_error"] for r in ROWS_A]
    assert curves.test_error.tolist() == [r["test_error"] for r in ROWS_A]
    nan = read_run(_run(tmp_path, "b", ROWS_B))  # a run without test images: NaN, drawn as nothing
    assert nan.train_error.tolist() == [0.3] and math.isnan(nan.test_error[0])


def test_a_run_in_progress_is_read_as_far_as_it_goes(tmp_path):
    curves = read_run(_run(tmp_path, "a", ROWS_A[:2], tail='{"epoch": 3, "train_er'))
    assert curves.epoch.tolist() == [1, 2]
    assert curves.test_error.tolist() == [ROWS_A[0]["test_error"], ROWS_A[1]["test_error"]]


def test_png_of_two_runs(tmp_path, capsys):
    import matplotlib.image

    out = tmp_path / "curves.png"
    code, err = _resim(capsys, "plot", _run(tmp_path, "a"), _run(tmp_path, "b", ROWS_B), "-o", out)
    assert (code, err) == (0, "")
    assert out.read_bytes().startswith(PNG_SIGNATURE)
    image = matplotlib.image.imread(str(out))
    assert image.ndim == 3 and image.shape[0] > 0 and image.shape[1] > 0


def _svg_texts(path):
    return re.findall(r">([^<>]*)</text>", path.read_text())


def test_svg_holds_the_labels_and_title(tmp_path, capsys):
    runs = [_run(tmp_path, "drn-1h"), _run(tmp_path, "drn-2h", ROWS_B)]
    out = tmp_path / "curves.svg"
    assert _resim(capsys, "plot", *runs, "-o", out) == (0, "")
    assert {"drn-1h", "drn-2h", "test error", "train error", "epoch", "error (%)"} <= set(_svg_texts(out))
    code, _ = _resim(capsys, "plot", *runs, "--label", "DRN-1H by EP", "--label", "_x costs $5 or $6",
                     "--title", "Fashion-MNIST", "-o", out)
    assert code == 0
    assert {"DRN-1H by EP", "_x costs $5 or $6", "Fashion-MNIST"} <= set(_svg_texts(out))  # $ is no math, _ not hidden
    assert "drn-1h" not in _svg_texts(out)


def test_same_runs_give_the_same_file(tmp_path, capsys):
    run = _run(tmp_path, "a")
    for ext in ("svg", "pdf"):
        first, second = tmp_path / f"1.{ext}", tmp_path / f"2.{ext}"
        assert _resim(capsys, "plot", run, "-o", first)[0] == 0
        assert _resim(capsys, "plot", run, "-o", second)[0] == 0
        assert first.read_bytes() == second.read_bytes()
    assert first.read_bytes().startswith(b"%PDF")


def test_default_labels_are_folder_names_unless_two_are_the_same():
    assert default_labels(["runs/1h", "runs/2h/"]) == ["1h", "2h"]
    assert default_labels(["a/run", "b/run"]) == ["a/run", "b/run"]


def test_reading_curves_loads_no_trainer(tmp_path):
    """``import resim.plot`` loads none of resim.drn (the trainer: its network, engines and
    data); its errors are still the trainer's RunError, which callers catch."""
    code = "import sys, resim.plot; print(sorted(m for m in sys.modules if m.split('.')[:2] == ['resim', 'drn']))"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[]"
    from resim.drn.train import RunError

    with pytest.raises(RunError, match="holds no metrics.jsonl"):
        read_run(str(tmp_path))


def test_written_through_a_link_keeping_the_mode_and_to_a_device(tmp_path, capsys):
    run = _run(tmp_path, "a")
    target, link = tmp_path / "target.png", tmp_path / "link.png"
    target.write_bytes(b"old")
    target.chmod(0o640)
    link.symlink_to(target)
    assert _resim(capsys, "plot", run, "-o", link) == (0, "")
    assert link.is_symlink() and target.read_bytes().startswith(PNG_SIGNATURE)
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    null = tmp_path / "null.png"
    try:
        os.mknod(null, stat.S_IFCHR | 0o666, os.makedev(1, 3))  # /dev/null's device, in tmp_path
    except PermissionError:  # not root (CAP_MKNOD): the device part is tested where CI runs, as root
        pytest.skip("making a device node needs root: the link and the mode were checked, the device was not")
    assert _resim(capsys, "plot", run, "-o", null) == (0, "")
    assert null.is_char_device()


def test_missing_matplotlib_is_a_clear_usage_error(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # `import matplotlib` raises ImportError
    out = tmp_path / "curves.png"
    code, err = _resim(capsys, "plot", _run(tmp_path, "a"), "-o", out)
    assert code == 2
    assert "resim plot needs matplotlib, which is not installed" in err and "pip install 'resim[plot]'" in err
    assert "Traceback" not in err and not out.exists()


@pytest.mark.parametrize("content, message", [
    ("", "holds no epoch"),
    ("\n\n", "holds no epoch"),
    (json.dumps(ROWS_A[0]) + "\n{\"epoch\": 2, oops\n" + json.dumps(ROWS_A[2]) + "\n", "line 2 is damaged"),
    ("[1, 2]\n", "line 1 is damaged: not a JSON object"),
    ('{"epoch": 1, "train_error": 0.1}\n', "line 1 is damaged: no number 'test_error'"),
    ('{"epoch": 1, "train_error": "0.1", "test_error": 0.1}\n', "no number 'train_error'"),
    ('{"epoch": true, "train_error": 0.1, "test_error": 0.1}\n', "no number 'epoch'"),
    ('{"epoch": 1, "train_er', "line 1 is damaged"),  # cut before any whole row: not a run in progress
    (b"\xff\xfe\n", "is damaged: it is not UTF-8 text"),
])
def test_damaged_metrics_name_the_file(tmp_path, capsys, content, message):
    folder = tmp_path / "run"
    folder.mkdir()
    metrics = folder / "metrics.jsonl"
    (metrics.write_bytes if isinstance(content, bytes) else metrics.write_text)(content)
    out = tmp_path / "curves.png"
    code, err = _resim(capsys, "plot", folder, "-o", out)
    assert code == 2
    assert err.startswith(f"error: '{metrics}'") and message in err
    assert "Traceback" not in err and not out.exists()


def test_folders_without_metrics(tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    code, err = _resim(capsys, "plot", empty, "-o", tmp_path / "c.png")
    assert code == 2 and f"'{empty}' holds no metrics.jsonl" in err and "resim train --out DIR" in err
    (empty / "config.resolved.toml").write_text("[training]\nepochs = 5\n")  # started, no epoch done yet
    code, err = _resim(capsys, "plot", empty, "-o", tmp_path / "c.png")
    assert code == 2 and "has not finished an epoch yet" in err
    odd = tmp_path / "odd"
    (odd / "metrics.jsonl").mkdir(parents=True)
    code, err = _resim(capsys, "plot", odd, "-o", tmp_path / "c.png")
    assert code == 2 and f"'{odd / 'metrics.jsonl'}' is not a file" in err
    code, err = _resim(capsys, "plot", tmp_path / "missing", "-o", tmp_path / "c.png")
    assert code == 2 and "does not exist" in err
    assert not (tmp_path / "c.png").exists()


def test_usage_and_output_errors(tmp_path, capsys):
    run = _run(tmp_path, "a")
    code, err = _resim(capsys, "plot", run, "-o", tmp_path / "curves.jpg")
    assert code == 2 and ".png, .svg, .pdf" in err
    code, err = _resim(capsys, "plot", run, run, "--label", "one", "-o", tmp_path / "c.png")
    assert code == 2 and "--label was given 1 times for 2 runs" in err
    code, err = _resim(capsys, "plot", run, "-o", tmp_path / "nowhere" / "c.png")
    assert code == 10 and "cannot write" in err and "does not exist" in err
    code, err = _resim(capsys, "plot", _run(tmp_path, "damaged", tail="{]\n"), "-o", tmp_path / "nowhere" / "c.png")
    assert code == 10  # the output is checked before the runs are read


def test_help_examples_run(tmp_path, capsys, monkeypatch):
    examples = [line.strip() for line in plot_runs.help.splitlines() if line.strip().startswith("resim plot ")]
    assert len(examples) >= 3
    monkeypatch.chdir(tmp_path)
    for example in examples:
        args = shlex.split(example)[1:]
        for arg in args:
            if arg.startswith("runs/") and not (tmp_path / arg).exists():
                _run(tmp_path, arg)
            if arg.startswith("docs/runs/") and not (tmp_path / arg).exists():  # a row of seeds
                for k in range(3):
                    _csv(tmp_path / arg / f"seed{k}.csv", [dict(r, test_error=r["test_error"] + k / 100)
                                                           for r in ROWS_A])
        assert _resim(capsys, *args) == (0, ""), example
        assert os.path.getsize(args[args.index("-o") + 1]) > 0


@pytest.mark.parametrize("row, field, words", [
    ('{"epoch": 1, "train_error": NaN, "test_error": 0.1}', "train_error", "NaN"),
    ('{"epoch": 1, "train_error": Infinity, "test_error": 0.1}', "train_error", "Infinity"),
    ('{"epoch": 1, "train_error": 0.2, "test_error": -Infinity}', "test_error", "-Infinity"),
    ('{"epoch": 1, "train_error": 1.5, "test_error": 0.1}', "train_error", "1.5"),
    ('{"epoch": 1, "train_error": 0.2, "test_error": -0.1}', "test_error", "-0.1"),
    ('{"epoch": NaN, "train_error": 0.2, "test_error": 0.1}', "epoch", "NaN"),
    ('{"epoch": 0, "train_error": 0.2, "test_error": 0.1}', "epoch", "0"),
    ('{"epoch": 1.5, "train_error": 0.2, "test_error": 0.1}', "epoch", "1.5"),
    ('{"epoch": 1, "train_error": 0.2, "test_error": 0.1}', "epoch", "1, after epoch 1: epochs only increase"),
])
def test_metrics_that_no_run_writes_are_damage_naming_line_and_field(tmp_path, capsys, row, field, words):
    """Error rates are fractions in [0, 1], epochs whole numbers from 1; a test error of NaN
    (what a run without test images writes) is the only value that is not a number, drawn
    as no test curve. Anything else is a damaged file (exit 2), named with its line and field."""
    folder = tmp_path / "run"
    folder.mkdir()
    metrics = folder / "metrics.jsonl"
    metrics.write_text(json.dumps(ROWS_A[0]) + "\n" + row + "\n")
    out = tmp_path / "curves.png"
    code, err = _resim(capsys, "plot", folder, "-o", out)
    assert code == 2, err
    assert err.startswith(f"error: '{metrics}' line 2 is damaged: '{field}' is {words}") and not out.exists()


# ---- folders of seeds (docs/runs/<row>/) -------------------------------------------------------------


def test_a_metrics_csv_reads_as_its_run_folder_does(tmp_path):
    from_csv = read_csv(_csv(tmp_path / "seed0.csv"))
    from_jsonl = read_run(_run(tmp_path, "run"))
    for field in ("epoch", "train_error", "test_error"):
        assert getattr(from_csv, field).tolist() == getattr(from_jsonl, field).tolist()
    nan = read_csv(_csv(tmp_path / "nan.csv", ROWS_B))
    assert math.isnan(nan.test_error[0]) and nan.train_error.tolist() == [0.3]


def test_seeds_are_read_in_the_order_of_their_numbers(tmp_path):
    row = tmp_path / "row"
    for k in (10, 2, 0):
        _csv(row / f"seed{k}.csv", [dict(r, train_error=k / 100) for r in ROWS_A])
    (row / "seed0.toml").write_text("# its config\n")
    (row / "notes.csv").write_text("not,a,seed\n")
    seeds = read_seeds(str(row))
    assert [c.train_error[0] for c in seeds] == [0.0, 0.02, 0.1]
    assert [c.folder for c in read(str(row))] == [str(row / f"seed{k}.csv") for k in (0, 2, 10)]


def test_a_folder_of_seed_run_folders_is_read_as_its_runs(tmp_path):
    _run(tmp_path / "row", "seed1", ROWS_A[:2])  # still going
    _run(tmp_path / "row", "seed0")
    seeds = read(str(tmp_path / "row"))
    assert [len(c.epoch) for c in seeds] == [3, 2]
    assert read(_run(tmp_path, "single"))[0].epoch.tolist() == [1, 2, 3]


def test_a_damaged_csv_names_its_file_and_line(tmp_path, capsys):
    row = tmp_path / "row"
    bad = _csv(row / "seed0.csv", ROWS_A[:1] + [dict(ROWS_A[1], train_error=1.5)] + ROWS_A[2:])
    code, err = _resim(capsys, "plot", row, "-o", tmp_path / "c.png")
    assert code == 2 and f"'{bad}' line 3 is damaged" in err and "train_error" in err and "1.5" in err
    (row / "seed0.csv").write_text("epoch;train_error\n1;0.2\n")
    code, err = _resim(capsys, "plot", row, "-o", tmp_path / "c.png")
    assert code == 2 and "line 1 is not a metrics.csv header" in err
    assert not (tmp_path / "c.png").exists()


def test_a_csv_row_still_being_written_is_left_out(tmp_path):
    path = _csv(tmp_path / "seed0.csv", ROWS_A, tail="4,0.1")  # no newline yet
    assert read_csv(path).epoch.tolist() == [1, 2, 3]


def test_seeds_are_drawn_as_a_band_labelled_with_their_count(tmp_path, capsys):
    row = tmp_path / "drn"
    for k in range(3):
        _csv(row / f"seed{k}.csv", [dict(r, test_error=r["test_error"] + k / 100) for r in ROWS_A[: 2 + (k > 0)]])
    out = tmp_path / "c.svg"
    code, err = _resim(capsys, "plot", row, _run(tmp_path, "one"), "--label", "DRN", "--label", "one", "-o", out)
    assert (code, err) == (0, "")
    texts = _svg_texts(out)
    assert "DRN (3 seeds)" in texts and "one" in texts and "seeds' range (mean drawn)" in texts


def test_the_committed_evidence_redraws_its_figure(tmp_path, capsys):
    """`resim plot docs/runs/drn-1h-ep` from the repository alone, no run folders."""
    from pathlib import Path

    row = Path(__file__).resolve().parents[1] / "docs" / "runs" / "drn-1h-ep"
    seeds = len(list(row.glob("seed*.csv")))
    out = tmp_path / "1h.svg"
    assert _resim(capsys, "plot", row, "-o", out) == (0, "")
    assert (f"drn-1h-ep ({seeds} seeds)" if seeds > 1 else "drn-1h-ep") in _svg_texts(out)
