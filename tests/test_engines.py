"""Choosing the training engine without torch (issue 24): the [training] keys are checked
where they are written, a machine without torch says how to install it, and a run may
resume on another engine. The torch engine itself is tested in test_torch_engine.py."""

from __future__ import annotations

import subprocess
import sys

import pytest

from resim.drn.config import ConfigError, check, same_run, with_engine
from resim.drn.engine import EngineUnavailable


def config(**training):
    doc = {"model": {"layers": [784, 16, 10]}, "training": {"dtype": "float32", **training}}
    text = "[training]\n" + "".join(f'{k} = "{v}"\n' for k, v in training.items())
    return check(doc, text, "run.toml")


@pytest.mark.parametrize("keys,says", [
    ({"backend": "jax"}, "unknown backend 'jax'"),
    ({"backend": "torch", "device": "gpu"}, "unknown device 'gpu'"),
    ({"device": "cuda"}, "the numpy backend runs on the CPU"),
    ({"precision": "bfloat16"}, "bfloat16 products need backend"),
    ({"backend": "torch", "precision": "float16"}, "precision 'float16' does not go with dtype float32"),
])
def test_bad_engine_keys_are_located_config_errors(keys, says):
    with pytest.raises(ConfigError, match=says) as err:
        config(**keys)
    key = next(iter(keys)) if len(keys) == 1 else list(keys)[-1]
    assert err.value.location.line == list(keys).index(key) + 2


def test_overrides_are_checked_as_usage_errors():
    base = config()
    assert with_engine(base, backend=None)["training"]["backend"] == "numpy"
    assert with_engine(base, backend="torch", precision="bfloat16")["training"]["precision"] == "bfloat16"
    with pytest.raises(EngineUnavailable, match="--precision: bfloat16 products need") as err:
        with_engine(base, precision="bfloat16")
    assert err.value.exit_code == 2


def test_a_run_may_resume_on_another_engine_but_not_with_other_physics():
    a = config().to_toml()
    assert same_run(a, config(backend="torch", device="cuda:1", precision="bfloat16").to_toml())
    assert not same_run(a, config(algorithm="positive-ep").to_toml())


def test_without_torch_the_message_gives_the_install_command(tmp_path):
    """torch hidden from a fresh interpreter: make_engine and `resim train --backend torch`
    both say what to install (exit 2, nothing written)."""
    code = ("import sys; sys.modules['torch'] = None\n"
            "from resim.drn.engines import make_engine\n"
            "from resim.drn.engine import EngineUnavailable\n"
            "try:\n    make_engine('torch', 'cpu', 'float32')\nexcept EngineUnavailable as e:\n"
            "    print(e.message, '|', e.hint)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert "needs PyTorch, which is not installed" in done.stdout and "pip install 'resim[torch]'" in done.stdout
    run = tmp_path / "run.toml"
    run.write_text('[model]\nlayers = [784, 16, 10]\n[data]\ntrain_limit = 8\ntest_limit = 8\n'
                   '[training]\nbackend = "torch"\ndtype = "float32"\n')
    launcher = ("import sys; sys.modules['torch'] = None; sys.argv = ['resim'] + sys.argv[1:]; "
                "from resim._launch import main; main()")
    done = subprocess.run([sys.executable, "-c", launcher, "train", "--config", str(run), "--out",
                           str(tmp_path / "out")], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    assert "needs PyTorch" in done.stderr and "pip install 'resim[torch]'" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "out").exists()
