"""Runs that did not finish (issue 23, item 18): a run folder holds checkpoint.npz after
every epoch and model.npz only at the end. `export`, `evaluate` and `synth relu` take the
checkpoint (or the run folder, which means its model, else its checkpoint), say so when
the model is missing, and a resumed `resim train` says where it resumes. The truth is the
finished run: its checkpoint holds the same network as its model."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest

from resim.cli import run_args
from resim.drn import data as data_mod

FASHION = data_mod.DEBIAN_FASHION

CONFIG = """[model]
{model}
[data]
dataset = "fashion-mnist"
data_dir = "{data_dir}"
train_limit = 200
test_limit = 20
[training]
epochs = {epochs}
learning_rates = [0.02, 0.02]
{training}
"""
DRN = 'layers = [784, 8, 10]\ninput_gain = 4.0'
MLP = 'kind = "relu-mlp"\nlayers = [784, 4, 10]'


def resim(capsys, *args) -> tuple[int, str, str]:
    code = run_args([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def trained(tmp_path: Path, capsys, model: str, epochs: int = 1, name: str = "r") -> tuple[Path, Path]:
    """A finished run of ``model`` in tmp_path/name: (its folder, its config file)."""
    training = 'algorithm = "backprop"\ndtype = "float64"' if "relu-mlp" in model else ""
    config = tmp_path / f"{name}.toml"
    config.write_text(CONFIG.format(model=model, data_dir=FASHION, epochs=epochs, training=training))
    code, _, err = resim(capsys, "train", "--config", config, "--out", tmp_path / name)
    assert code == 0, err
    return tmp_path / name, config


@pytest.mark.parametrize("command, model", [(["export", "--input", "3"], DRN), (["evaluate"], MLP)])
def test_export_and_evaluate_take_the_checkpoint_of_a_run_that_did_not_finish(tmp_path, capsys, command, model):
    run, _ = trained(tmp_path, capsys, model)
    code, finished, err = resim(capsys, command[0], run / "model.npz", *command[1:])
    assert code == 0, err
    (run / "model.npz").unlink()  # as a run stopped before its end leaves it
    code, out, err = resim(capsys, command[0], run / "model.npz", *command[1:])
    assert code == 2 and out == ""
    assert f"'{run / 'model.npz'}' does not exist" in err and f"resim {command[0]} {run / 'checkpoint.npz'}" in err
    assert "epoch 1" in err and "--resume" in err
    code, out, err = resim(capsys, command[0], run, *command[1:])  # the run folder: its checkpoint
    assert code == 0 and out.replace("checkpoint.npz", "model.npz") == finished
    assert f"'{run}' holds no model.npz" in err and "checkpoint.npz" in err


def test_synth_takes_a_relu_mlp_checkpoint_and_run_folder(tmp_path, capsys):
    run, _ = trained(tmp_path, capsys, MLP)
    code, _, err = resim(capsys, "synth", "relu", run / "model.npz", "--gain", "1e4", "--check", "0", "-o",
                         tmp_path / "model.cir")
    assert code == 0, err
    finished = (tmp_path / "model.cir").read_text()
    code, _, err = resim(capsys, "synth", "relu", run, "--gain", "1e4", "--check", "0", "-o", tmp_path / "run.cir")
    assert code == 0 and (tmp_path / "run.cir").read_text() == finished, err  # the folder means its model
    (run / "model.npz").unlink()
    code, _, err = resim(capsys, "synth", "relu", run / "model.npz", "-o", tmp_path / "x.cir")
    assert code == 2 and f"resim synth relu {run / 'checkpoint.npz'}" in err and not (tmp_path / "x.cir").exists()
    code, _, err = resim(capsys, "synth", "relu", run / "checkpoint.npz", "--gain", "1e4", "--check", "0", "-o",
                         tmp_path / "c.cir")
    assert code == 0, err
    assert (tmp_path / "c.cir").read_text() == finished.replace("* model.npz", "* checkpoint.npz")


def test_a_folder_without_a_run_and_a_missing_file_are_named(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    code, _, err = resim(capsys, "export", tmp_path / "empty", "--input", "0")
    assert code == 2 and f"'{tmp_path / 'empty'}' holds no model.npz or checkpoint.npz" in err
    code, _, err = resim(capsys, "synth", "relu", tmp_path / "nothing.npz")
    assert code == 2 and f"'{tmp_path / 'nothing.npz'}' does not exist" in err


def test_a_resumed_run_says_where_it_resumes(tmp_path, capsys):
    run, config = trained(tmp_path, capsys, MLP)
    config.write_text(config.read_text().replace("epochs = 1", "epochs = 3"))
    code, _, err = resim(capsys, "train", "--config", config, "--out", run, "--resume")
    assert code == 0, err
    assert "resuming at epoch 2 of 3" in err
    assert [json.loads(line)["epoch"] for line in (run / "metrics.jsonl").read_text().splitlines()] == [1, 2, 3]
    code, _, err = resim(capsys, "train", "--config", config, "--out", run, "--resume")
    assert code == 0 and "all 3 epochs are done" in err, err


def test_a_hard_linked_backup_of_a_run_keeps_its_content(tmp_path, capsys):
    """A run's own files are replaced whole (never written in place as a user's -o with
    hard links is, docs/output.md): `cp -al run backup` stays the run as it was."""
    run, config = trained(tmp_path, capsys, MLP)
    backup = tmp_path / "backup"
    backup.mkdir()
    for f in run.iterdir():
        (backup / f.name).hardlink_to(f)
    before = {f.name: f.read_bytes() for f in backup.iterdir()}
    config.write_text(config.read_text().replace("epochs = 1", "epochs = 2"))
    assert resim(capsys, "train", "--config", config, "--out", run, "--resume")[0] == 0
    assert {f.name: f.read_bytes() for f in backup.iterdir()} == before
    assert (run / "checkpoint.npz").read_bytes() != before["checkpoint.npz"]


def test_the_hint_for_a_missing_model_is_a_command_that_finishes_the_run(tmp_path, capsys):
    """The hint's `resim train` line names the run's own config.resolved.toml (not a
    placeholder), and run as printed it writes the missing model.npz."""
    run, _ = trained(tmp_path, capsys, DRN)
    code, finished, _ = resim(capsys, "export", run / "model.npz", "--input", "0")
    assert code == 0
    (run / "model.npz").unlink()
    code, _, err = resim(capsys, "export", run / "model.npz", "--input", "0")
    assert code == 2
    line = err[err.index("resim train"):].splitlines()[0]
    assert f"--config {run / 'config.resolved.toml'}" in line, line
    code, _, err = resim(capsys, *shlex.split(line)[1:])
    assert code == 0, err
    code, out, err = resim(capsys, "export", run / "model.npz", "--input", "0")
    assert code == 0 and out == finished, err  # the same network as before
