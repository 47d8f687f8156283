"""`resim train`, `evaluate`, `export` under bad input and odd circumstances (issue 12).

Configurations that do not fit the data, negative limits and rates, a named data folder
that is not there, another dataset for `evaluate`, a run folder that would be clobbered,
`--resume` with more epochs, damaged checkpoints and models, and Ctrl-C (a real SIGINT to
a real training run). The data are the real Fashion-MNIST IDX files (Debian's
dataset-fashion-mnist, which CI installs), a few hundred images at a time.
"""

from __future__ import annotations

import io
import json
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from resim.cli import run_args
from resim.drn import data as data_mod
from resim.drn.config import ConfigError, check, load_config
from resim.drn.network import DRN
from resim.drn.train import RunError, model_arrays, save_npz, train

FASHION = data_mod.DEBIAN_FASHION

TINY = """[model]
layers = {layers}
input_gain = 4.0
[data]
dataset = "fashion-mnist"
data_dir = "{data_dir}"
train_limit = {train_limit}
test_limit = 20
[training]
epochs = {epochs}
learning_rates = [0.02, 0.02]
seed = {seed}
"""


def write_config(path: Path, layers: str = "[784, 16, 10]", epochs: int = 1, train_limit: int = 200,
                 seed: int = 0, data_dir: str = FASHION) -> str:
    """A small run.toml at ``path`` (returned as a string for the command line)."""
    path.write_text(TINY.format(layers=layers, epochs=epochs, train_limit=train_limit, seed=seed, data_dir=data_dir))
    return str(path)


def resim(capsys, *args: str) -> tuple[int, str, str]:
    """``resim ARGS`` in this process: the exit code, stdout and stderr."""
    code = run_args([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def fashion() -> data_mod.Dataset:
    return data_mod.load("fashion-mnist", FASHION, 200, 20)


def arrays(source: Path | bytes) -> dict[str, np.ndarray]:
    """Every array of an .npz file (its path or its bytes)."""
    with np.load(io.BytesIO(source) if isinstance(source, bytes) else source) as z:
        return {k: z[k] for k in z.files}


# ---- configurations ----------------------------------------------------------------------------------


@pytest.mark.parametrize("layers, problem", [("[100, 64, 10]", "784 pixels, not 100"),
                                             ("[784, 64, 5]", "needs 10 outputs, not 5")])
def test_layers_that_do_not_fit_the_data_are_config_errors(tmp_path, capsys, layers, problem):
    cfg = write_config(tmp_path / "run.toml", layers=layers)
    code, _, err = resim(capsys, "train", "--config", cfg, "--out", tmp_path / "r")
    assert code == 3, err
    assert f"{cfg}:2:" in err and "layers" in err and problem in err  # the file, the line of `layers`
    assert not (tmp_path / "r").exists()  # refused before anything was written


@pytest.mark.parametrize("text, line, words", [
    ("[data]\ntrain_limit = -5\n", 2, "train_limit must not be negative"),
    ("[data]\n\ntest_limit = -1\n", 3, "test_limit must not be negative"),
    ("[training]\nlearning_rates = [-0.006, 0.006]\n", 2, "learning_rates must not be negative"),
    ("[training]\nbias_learning_rates = [0.1, -0.1]\n", 2, "bias_learning_rates must not be negative"),
    ("[training]\nlearning_rates = [inf, 0.006]\n", 2, "learning_rates must be finite"),
    ("[training]\nnudging = nan\n", 2, "nudging must be finite"),
    ("[data]\nflip = 1.5\n", 2, "flip is a probability"),
    ("[data]\nflip = -0.1\n", 2, "flip is a probability"),
])
def test_negative_limits_and_rates_are_refused(tmp_path, text, line, words):
    path = tmp_path / "run.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=words) as info:
        load_config(str(path))
    assert info.value.location.line == line and info.value.exit_code == 3


def test_a_negative_limit_exits_3(tmp_path, capsys):
    cfg = write_config(tmp_path / "run.toml", train_limit=-5)
    code, _, err = resim(capsys, "train", "--config", cfg, "--out", tmp_path / "r")
    assert code == 3 and "train_limit" in err


# ---- data folders and datasets -----------------------------------------------------------------------


def test_a_named_data_folder_must_hold_the_data(tmp_path, capsys, monkeypatch):
    """No silent fall-back to Debian's Fashion-MNIST folder (which holds the data) when the
    folder the user named does not exist or holds something else."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("RESIM_DATA", raising=False)
    missing = tmp_path / "no such folder"
    cfg = write_config(tmp_path / "run.toml", data_dir=str(missing))
    code, _, err = resim(capsys, "train", "--config", cfg, "--out", tmp_path / "r")
    assert code == 7 and f"'{missing}' does not exist" in err
    cfg = write_config(tmp_path / "run.toml")
    code, _, err = resim(capsys, "train", "--config", cfg, "--out", tmp_path / "r", "--data-dir", missing)
    assert code == 7 and f"'{missing}' does not exist" in err
    (tmp_path / "empty").mkdir()
    code, _, err = resim(capsys, "train", "--config", cfg, "--out", tmp_path / "r", "--data-dir", tmp_path / "empty")
    assert code == 7 and "holds neither the four IDX files" in err
    assert not (tmp_path / "r").exists()
    # the folder itself or its <dataset> subfolder
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "fashion-mnist").symlink_to(FASHION)
    assert data_mod.locate("fashion-mnist", str(tmp_path / "data"))[data_mod.FILES[0]].startswith(
        str(tmp_path / "data" / "fashion-mnist"))


def save_model(path: Path, layers: list[int], dataset: str = "fashion-mnist", data_dir: str = FASHION) -> None:
    """A model.npz as resim train writes it (initial conductances) for ``layers``."""
    doc = {"model": {"layers": layers}, "data": {"dataset": dataset, "data_dir": data_dir},
           "training": {"learning_rates": [0.01] * (len(layers) - 1)}}
    net = DRN.init(layers, 4.0, np.random.default_rng(0))
    save_npz(str(path), **model_arrays(net, check(doc, "", "run.toml")))


def test_evaluate_on_another_dataset_does_not_read_the_models_folder(tmp_path, capsys, monkeypatch):
    """The model's data_dir holds Fashion-MNIST; --dataset kmnist must not evaluate on it
    under kmnist's name. Here KMNIST cannot be had (no files, no server), so: exit 7."""
    save_model(tmp_path / "model.npz", [784, 16, 10])
    monkeypatch.setitem(data_mod.SOURCES, "kmnist", ("http://127.0.0.1:9/", data_mod.SOURCES["kmnist"][1]))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("RESIM_DATA", raising=False)
    code, out, err = resim(capsys, "evaluate", tmp_path / "model.npz", "--dataset", "kmnist")
    assert code == 7 and out == ""
    assert "kmnist: cannot download" in err


@pytest.mark.parametrize("command", [["evaluate"], ["export", "--input", "0"]])
def test_a_model_that_does_not_fit_the_dataset_is_refused(tmp_path, capsys, command):
    save_model(tmp_path / "model.npz", [100, 16, 10])
    code, out, err = resim(capsys, command[0], tmp_path / "model.npz", *command[1:])
    assert code == 2 and out == ""
    assert f"'{tmp_path / 'model.npz'}' does not fit the data" in err and "784 pixels, not 100" in err


# ---- run folders -------------------------------------------------------------------------------------


def test_train_refuses_to_overwrite_a_run(tmp_path, capsys):
    cfg = write_config(tmp_path / "run.toml", epochs=2)
    out = tmp_path / "r"
    assert resim(capsys, "train", "--config", cfg, "--out", out)[0] == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    cfg = write_config(tmp_path / "run.toml", epochs=1, seed=5)
    code, _, err = resim(capsys, "train", "--config", cfg, "--out", out)
    assert code == 2
    assert f"'{out}' already holds a training run" in err and "--resume" in err and "--overwrite" in err
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # untouched
    code, _, err = resim(capsys, "train", "--config", cfg, "--out", out, "--overwrite", "--resume")
    assert code == 2 and "give one" in err
    code, _, err = resim(capsys, "train", "--config", cfg, "--out", out, "--overwrite")
    assert code == 0, err
    assert (out / "metrics.jsonl").read_text().count("\n") == 1  # the new run's one epoch
    assert not np.array_equal(arrays(out / "model.npz")["W0"], arrays(before["model.npz"])["W0"])


def test_resume_with_more_epochs_continues_the_run(tmp_path, fashion):
    """One epoch, then --resume with two: bit for bit the run of two epochs from the start."""
    one = load_config(write_config(tmp_path / "one.toml", epochs=1))
    two = load_config(write_config(tmp_path / "two.toml", epochs=2))
    train(one, fashion, str(tmp_path / "cut"))
    net, rows = train(two, fashion, str(tmp_path / "cut"), resume=True)
    whole, whole_rows = train(two, fashion, str(tmp_path / "whole"))
    for a, b in zip(net.W + net.b, whole.W + whole.b):
        np.testing.assert_array_equal(a, b)
    assert [r["epoch"] for r in rows] == [1, 2]
    assert [r["test_error"] for r in rows] == [r["test_error"] for r in whole_rows]
    assert "epochs = 2" in (tmp_path / "cut" / "config.resolved.toml").read_text()
    assert arrays(tmp_path / "cut" / "model.npz").keys() == arrays(tmp_path / "whole" / "model.npz").keys()
    with pytest.raises(RunError, match="has run 2 epochs already, more than the 1 configured"):
        train(one, fashion, str(tmp_path / "cut"), resume=True)
    other = load_config(write_config(tmp_path / "seed.toml", epochs=3, seed=1))
    with pytest.raises(RunError, match="another configuration"):  # only epochs may change
        train(other, fashion, str(tmp_path / "cut"), resume=True)


DAMAGE = {
    "truncated": lambda data: data[:len(data) // 2],
    "empty": lambda data: b"",
    "garbage": lambda data: b"\x80\x04not a model at all" * 10,
}


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_a_damaged_checkpoint_or_model_is_named(tmp_path, capsys, damage):
    cfg = write_config(tmp_path / "run.toml")
    out = tmp_path / "r"
    assert resim(capsys, "train", "--config", cfg, "--out", out)[0] == 0
    for name in ("checkpoint.npz", "model.npz"):
        (out / name).write_bytes(DAMAGE[damage]((out / name).read_bytes()))
    code, _, err = resim(capsys, "train", "--config", cfg, "--out", out, "--resume")
    assert code == 2 and f"'{out / 'checkpoint.npz'}' is truncated or corrupt" in err and "--overwrite" in err
    for command in (["evaluate"], ["export", "--input", "0"]):
        code, stdout, err = resim(capsys, command[0], out / "model.npz", *command[1:])
        assert code == 2 and stdout == ""
        assert f"'{out / 'model.npz'}' is truncated or corrupt" in err and "--resume" in err


def test_an_intact_checkpoint_writes_the_model_again(tmp_path, capsys):
    """What the damaged model's hint says: --resume with the same epochs rewrites model.npz."""
    cfg = write_config(tmp_path / "run.toml")
    out = tmp_path / "r"
    assert resim(capsys, "train", "--config", cfg, "--out", out)[0] == 0
    good = arrays((out / "model.npz").read_bytes())
    (out / "model.npz").write_bytes(b"PK\x03\x04")
    assert resim(capsys, "train", "--config", cfg, "--out", out, "--resume")[0] == 0
    again = arrays(out / "model.npz")
    assert again.keys() == good.keys()
    for key, value in good.items():
        np.testing.assert_array_equal(again[key], value)


# ---- Ctrl-C ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("command, target", [
    (["solve", "NETLIST"], "resim.api.solve"),
    (["compare-with-ngspice", "NETLIST"], "resim.compare.compare_with_ngspice"),
    (["evaluate", "MODEL"], "resim.drn.train.load_model"),
])
def test_ctrl_c_exits_130_for_every_command(tmp_path, capsys, monkeypatch, netlists_dir, command, target):
    def interrupt(*args, **kw):
        raise KeyboardInterrupt

    monkeypatch.setattr(target, interrupt)
    (tmp_path / "model.npz").write_bytes(b"")
    paths = {"NETLIST": netlists_dir / "divider.cir", "MODEL": tmp_path / "model.npz"}
    code, _, err = resim(capsys, *(paths.get(a, a) for a in command))
    assert code == 130 and "interrupted" in err and "internal error" not in err


def test_an_eof_error_in_a_command_is_a_bug_not_an_abort(tmp_path, capsys, monkeypatch, netlists_dir):
    """click turns an EOFError into the same Abort as Ctrl-C: it is reported as what it is."""
    def eof(*args, **kw):
        raise EOFError("ran out")

    monkeypatch.setattr("resim.api.solve", eof)
    monkeypatch.delenv("RESIM_DEBUG", raising=False)
    code, _, err = resim(capsys, "solve", netlists_dir / "divider.cir")
    assert code == 1 and "internal error: EOFError: ran out" in err


def test_running_out_of_memory_is_exit_11_without_a_traceback(tmp_path, capsys, monkeypatch, netlists_dir):
    def too_big(*args, **kw):
        raise MemoryError()

    monkeypatch.setattr("resim.api.solve", too_big)
    monkeypatch.delenv("RESIM_DEBUG", raising=False)
    code, out, err = resim(capsys, "solve", netlists_dir / "divider.cir")
    assert code == 11 and err.startswith("error: out of memory") and "Traceback" not in err and out == ""


def test_an_interrupt_before_the_first_epoch_says_to_start_again(tmp_path):
    from resim.cli.train import _train_interrupted

    out = tmp_path / "my run"
    exc = _train_interrupted("c.toml", str(out), None, 1)
    assert exc.exit_code == 130
    assert exc.hint == f"start again with: resim train --config c.toml --out '{out}' --threads 1"


def test_the_command_after_an_interrupt_keeps_the_engine_overrides(tmp_path):
    from resim.cli.train import _train_interrupted

    exc = _train_interrupted("c.toml", "r", None, None, {"backend": "torch", "device": None, "precision": "bfloat16"})
    assert exc.hint == "start again with: resim train --config c.toml --out r --backend torch --precision bfloat16"


def test_seed_overrides_the_config_and_a_resume_needs_the_same_seed(tmp_path, capsys):
    """`--seed K` trains the config's run with [training] seed = K (the model is seed K's, not
    the file's), and a resume without it is another run, refused."""
    cfg = write_config(tmp_path / "run.toml", seed=0)
    code, _, err = resim(capsys, "train", "--config", cfg, "--out", tmp_path / "s3", "--seed", "3")
    assert code == 0, err
    assert "seed = 3" in (tmp_path / "s3" / "config.resolved.toml").read_text()
    three = write_config(tmp_path / "three.toml", seed=3)
    assert resim(capsys, "train", "--config", three, "--out", tmp_path / "f3")[0] == 0
    models = arrays(tmp_path / "s3" / "model.npz"), arrays(tmp_path / "f3" / "model.npz")
    assert all(np.array_equal(models[0][k], models[1][k]) for k in models[0])
    code, _, err = resim(capsys, "train", "--config", cfg, "--out", tmp_path / "s3", "--resume")
    assert code != 0 and "seed" in err, err
    code, _, err = resim(capsys, "train", "--config", cfg, "--out", tmp_path / "s3", "--resume", "--seed", "3")
    assert code == 0, err


def test_the_command_after_an_interrupt_keeps_the_seed():
    from resim.cli.train import _train_interrupted

    exc = _train_interrupted("c.toml", "r", None, None, {"seed": 0, "backend": None})
    assert exc.hint == "start again with: resim train --config c.toml --out r --seed 0"


def resim_process(*args: str) -> subprocess.Popen:
    """``resim ARGS`` as a child process with Ctrl-C's default meaning (a KeyboardInterrupt),
    whatever the test runner does with SIGINT."""
    env = {k: v for k, v in os.environ.items() if k != "RESIM_DEBUG"}
    return subprocess.Popen([sys.executable, "-m", "resim.cli", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def finish(proc: subprocess.Popen, timeout: float = 300) -> str:
    """Wait for ``proc`` (killed if it outlives ``timeout``, so that no process is left
    behind); its stderr."""
    try:
        return proc.communicate(timeout=timeout)[1]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_sigint_stops_training_with_130_and_the_command_that_resumes_it(tmp_path):
    """A real SIGINT after the first checkpoint (of 20 epochs): exit code 130, the command
    that resumes the run; that command (the config now asking for one epoch more than the
    checkpoint holds) ends bit for bit where an uninterrupted run of as many epochs ends."""
    cfg = tmp_path / "run.toml"
    write_config(cfg, epochs=20, train_limit=3000)
    out = tmp_path / "cut"
    proc = resim_process("train", "--config", str(cfg), "--out", str(out))
    ckpt = out / "checkpoint.npz"
    deadline = time.monotonic() + 300  # against a hang only
    while not ckpt.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    proc.send_signal(signal.SIGINT)
    err = finish(proc)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "internal error" not in err
    done = int(arrays(ckpt)["epoch"])
    assert 1 <= done < 20 and not (out / "model.npz").exists()
    assert f"keeps its last complete epoch ({done})" in err
    hint = [line for line in err.splitlines() if line.startswith("hint: continue with: ")]
    assert len(hint) == 1
    args = shlex.split(hint[0].removeprefix("hint: continue with: "))
    assert args == ["resim", "train", "--config", str(cfg), "--out", str(out), "--resume"]
    write_config(cfg, epochs=done + 1, train_limit=3000)
    resumed = resim_process(*args[1:])
    err = finish(resumed)
    assert resumed.returncode == 0, err
    data = data_mod.load("fashion-mnist", FASHION, 3000, 20)
    whole, rows = train(load_config(str(cfg)), data, str(tmp_path / "whole"))
    model = arrays(out / "model.npz")
    for l, w in enumerate(whole.W):
        np.testing.assert_array_equal(model[f"W{l}"], w)
        np.testing.assert_array_equal(model[f"b{l}"], whole.b[l])
    got = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in got] == list(range(1, done + 2))
    assert [r["test_error"] for r in got] == [r["test_error"] for r in rows]
