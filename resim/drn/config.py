"""``run.toml``: the training configuration, checked key by key (``resim train --config``).

Every key has a type and a default (:data:`SCHEMA`); an unknown key, a wrong type or a bad
value is a :class:`ConfigError` naming the file, the line and the key. The resolved
configuration (defaults filled in) is written next to the run as ``config.resolved.toml``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .. import tomlfile
from ..errors import NetlistError
from ..tomlfile import read_toml
from .engine import EngineUnavailable, engine_problem
from .rules import ALGORITHMS as EP_RULES

if TYPE_CHECKING:
    from .data import Dataset


class ConfigError(NetlistError):
    """A bad ``run.toml`` (same exit code as a bad netlist: 3)."""


_LIST_F = "list of numbers"
#: [model] kind: the deep resistive network, its non-reciprocal form (separate forward and
#: feedback conductances, resim.drn.vf), or the ReLU network baseline (docs/theory.md §5)
KINDS = ("drn", "drn-vf", "relu-mlp")
#: the rules that train a drn-vf: vector-field EP, from centred or positive nudging
VF_RULES = ("centered-ep", "positive-ep")
#: [training] algorithm: the DRN's learning rules, truncated backpropagation through the
#: relaxation (DRN), and backpropagation (relu-mlp)
ALGORITHMS = (*EP_RULES, "truncated-bp", "backprop")
#: [training] layer_order: a sweep's layers, odd then even in every phase (docs/theory.md §3),
#: or input to output in the free phase and at inference, output to input in the nudged ones (the follow-up)
LAYER_ORDERS = ("odd-even", "forward-backward")
SCHEMA: dict[str, dict[str, tuple[str, Any]]] = {
    "model": {
        "kind": ("string", "drn"),
        "layers": ("list of integers", [784, 100, 10]),
        "input_gain": ("number", 100.0),
        "symmetry": ("number", 0.0),  # drn-vf: the feedback at the start, B = s F + (1 - s) R; 1: tied
    },
    "data": {
        "dataset": ("string", "fashion-mnist"),
        "data_dir": ("string", ""),
        "train_limit": ("integer", 0),  # 0: all training images
        "test_limit": ("integer", 0),
        "flip": ("number", 0.0),  # probability of mirroring a training image left-right, per image and epoch
    },
    "training": {
        "algorithm": ("string", "centered-ep"),
        "nudging": ("number", 1.0),
        "sweeps": ("integer", 4),
        "layer_order": ("string", "odd-even"),
        "eval_sweeps": ("integer", 0),  # 0: the test error at the converged equilibrium; K: after K sweeps from 0
        "batch_size": ("integer", 4),
        "epochs": ("integer", 1),
        "learning_rates": (_LIST_F, [0.006, 0.006]),
        "bias_learning_rates": (_LIST_F, []),
        "momentum": ("number", 0.0),
        "lr_decay": ("number", 0.99),
        "seed": ("integer", 0),
        "dtype": ("string", "float64"),
        # the engine (resim.drn.engine): how the run is computed, not what it is; a run resumes on any
        "backend": ("string", "numpy"),  # or "torch" (pip install 'resim[torch]')
        "device": ("string", "cpu"),  # torch: "cuda" or "cuda:N"
        "precision": ("string", ""),  # the relaxation's products: "" (the dtype) or "bfloat16" (torch, float32)
        "hardware": ("string", ""),  # a hardware profile (docs/hardware.md): hardware-aware training
    },
}
#: [training] keys that say how a run is computed, not what it computes: a run may resume with others
ENGINE_KEYS = ("backend", "device", "precision")


@dataclass(frozen=True)
class Config:
    """The checked values by section, and the file they came from (``text``: its contents,
    for errors that point at a key's line)."""

    values: dict[str, dict[str, Any]]
    path: str
    text: str = ""

    def __getitem__(self, section: str) -> dict[str, Any]:
        return self.values[section]

    def check_data(self, data: "Dataset") -> None:
        """Refuse ``layers`` that do not fit the loaded images: a ConfigError at ``layers``."""
        layers = self.values["model"]["layers"]
        problem = data.misfit(layers[0], layers[-1])
        if problem:
            raise error_at(self.path, self.text, "model", "layers", f"layers {layers} do not fit the data: {problem}",
                       f"layers = [{data.pixels}, hidden sizes..., {data.classes}] for {data.name}")

    def to_toml(self) -> str:
        out = []
        for section, keys in self.values.items():
            out.append(f"[{section}]")
            for key, value in keys.items():
                out.append(f"{key} = {_toml_value(value)}")
            out.append("")
        return "\n".join(out)


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, float):
        return repr(v) if math.isfinite(v) else ("inf" if v > 0 else "-inf" if v < 0 else "nan")
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    return str(v)


def parse_toml(text: str) -> dict:
    return tomlfile.parse_toml(text)


def load_config(path: str) -> Config:
    doc, text = read_toml(path, ConfigError)
    return check(doc, text, path)


def error_at(path: str, text: str, section: str, key: str | None, message: str,
             hint: str | None = None) -> ConfigError:
    """A ConfigError at the line of ``key`` in ``[section]`` (:func:`resim.tomlfile.error_at`)."""
    return tomlfile.error_at(path, text, section, key, message, hint, ConfigError)


def check(doc: dict, text: str, path: str) -> Config:
    values: dict[str, dict[str, Any]] = {s: {k: _copy(d) for k, (_, d) in keys.items()} for s, keys in SCHEMA.items()}
    for section, keys in doc.items():
        if section not in SCHEMA:
            raise error_at(path, text, section, None, f"unknown section [{section}]",
                       f"sections: {', '.join(f'[{s}]' for s in SCHEMA)}")
        if not isinstance(keys, dict):
            raise error_at(path, text, section, None, f"'{section}' must be a table [{section}]")
        for key, value in keys.items():
            if key not in SCHEMA[section]:
                raise error_at(path, text, section, key, f"unknown key '{key}' in [{section}]",
                           f"keys of [{section}]: {', '.join(SCHEMA[section])}")
            kind, _ = SCHEMA[section][key]
            ok, value = _coerce(kind, value)
            if not ok:
                raise error_at(path, text, section, key, f"[{section}] {key} must be a {kind}, got {value!r}")
            if kind in ("number", _LIST_F) and not all(math.isfinite(x) for x in _as_list(value)):
                raise error_at(path, text, section, key, f"[{section}] {key} must be finite, got {value!r}")
            values[section][key] = value
    _semantics(values, path, text)
    return Config(values, path, text)


def same_run(resolved_a: str, resolved_b: str) -> bool:
    """Whether two resolved configurations (:meth:`Config.to_toml`) describe the same run,
    up to its length (``[training] epochs``) and its engine (:data:`ENGINE_KEYS`: a run
    started on a GPU may go on on a CPU): what ``--resume`` may continue."""
    docs = [parse_toml(text) for text in (resolved_a, resolved_b)]
    for doc in docs:
        for section, keys in SCHEMA.items():  # keys added since a run started take their defaults
            for key, (_, default) in keys.items():
                doc.setdefault(section, {}).setdefault(key, default)
        for key in ("epochs", *ENGINE_KEYS):
            doc["training"].pop(key, None)
    return docs[0] == docs[1]


def _semantics(v: dict, path: str, text: str) -> None:
    m, d, t = v["model"], v["data"], v["training"]
    if len(m["layers"]) < 2 or any(n < 1 for n in m["layers"]):
        raise error_at(path, text, "model", "layers", "layers must be [pixels, hidden..., classes], all >= 1")
    n_weights = len(m["layers"]) - 1
    if len(t["learning_rates"]) != n_weights:
        raise error_at(path, text, "training", "learning_rates",
                   f"learning_rates needs one rate per weight layer: {n_weights} for layers {m['layers']}")
    if t["bias_learning_rates"] and len(t["bias_learning_rates"]) != n_weights:
        raise error_at(path, text, "training", "bias_learning_rates", f"bias_learning_rates needs {n_weights} rates")
    if m["kind"] not in KINDS:
        raise error_at(path, text, "model", "kind", f"unknown model kind '{m['kind']}'", f"choose from {', '.join(KINDS)}")
    if t["algorithm"] not in ALGORITHMS:
        raise error_at(path, text, "training", "algorithm", f"unknown algorithm '{t['algorithm']}'",
                   f"choose from {', '.join(ALGORITHMS)}")
    if (m["kind"] == "relu-mlp") != (t["algorithm"] == "backprop"):
        raise error_at(path, text, "training", "algorithm",
                   f"algorithm '{t['algorithm']}' does not train a model of kind '{m['kind']}'",
                   "a relu-mlp trains by \"backprop\"; a drn by an EP rule, \"truncated-bp\" or \"exact\"")
    if m["kind"] == "drn-vf":
        _check_vf(m, t, path, text)
    if t["layer_order"] not in LAYER_ORDERS:
        raise error_at(path, text, "training", "layer_order", f"unknown layer order '{t['layer_order']}'",
                   f"choose from {', '.join(LAYER_ORDERS)}")
    if t["eval_sweeps"] < 0:
        raise error_at(path, text, "training", "eval_sweeps", "eval_sweeps must not be negative",
                   "0 measures the test error at the converged equilibrium, K after K sweeps from 0")
    for key in ("sweeps", "batch_size", "epochs"):
        if t[key] < 1:
            raise error_at(path, text, "training", key, f"{key} must be at least 1")
    for key in ("learning_rates", "bias_learning_rates"):
        if any(rate < 0 for rate in t[key]):
            raise error_at(path, text, "training", key, f"{key} must not be negative, got {t[key]}")
    for key in ("train_limit", "test_limit"):
        if d[key] < 0:
            raise error_at(path, text, "data", key, f"{key} must not be negative, got {d[key]}",
                       "0 uses every image, N the first N")
    if not 0.0 <= d["flip"] <= 1.0:
        raise error_at(path, text, "data", "flip", f"flip is a probability, got {d['flip']}",
                   "0 never mirrors a training image, 0.5 mirrors half of them (the follow-up's Fashion-MNIST runs)")
    if t["dtype"] not in ("float64", "float32"):
        raise error_at(path, text, "training", "dtype", "dtype must be \"float64\" or \"float32\"")
    _check_engine(t, lambda key, message, hint=None: error_at(path, text, "training", key, message, hint))
    if t["nudging"] == 0 and t["algorithm"] != "exact" and t["algorithm"] != "contrastive":
        raise error_at(path, text, "training", "nudging", "nudging must not be 0")
    if t["hardware"]:
        _check_hardware(t, m, path, text)
    ds = d["dataset"]
    if ds not in ("mnist", "fashion-mnist", "kmnist") and not ds.startswith("idx:"):
        raise error_at(path, text, "data", "dataset", f"unknown dataset '{ds}'",
                   "mnist, fashion-mnist, kmnist, or idx:<folder with the four IDX files>")


def _check_vf(m: dict, t: dict, path: str, text: str) -> None:
    """What a drn-vf may be trained with: vector-field EP on numpy, a symmetry in [0, 1]."""
    if not 0.0 <= m["symmetry"] <= 1.0:
        raise error_at(path, text, "model", "symmetry", f"symmetry must be between 0 and 1, got {m['symmetry']}",
                       "1 ties the feedback to the forward conductances (the plain DRN), 0 draws it independently")
    if t["algorithm"] not in VF_RULES:
        raise error_at(path, text, "training", "algorithm",
                       f"a drn-vf trains by vector-field EP: algorithm {' or '.join(VF_RULES)}, "
                       f"not '{t['algorithm']}'")
    if t["backend"] != "numpy" or t["hardware"]:
        key = "hardware" if t["hardware"] else "backend"
        raise error_at(path, text, "training", key, "a drn-vf trains on the numpy engine, without hardware profiles",
                       f"remove [training] {key}")


def hardware_path(config_path: str, hardware: str) -> str:
    """The profile file ``[training] hardware`` names: relative to the config file's folder."""
    import os

    return os.path.join(os.path.dirname(os.path.abspath(config_path)), os.path.expanduser(hardware))


def _check_hardware(t: dict, m: dict, path: str, text: str) -> None:
    """Refuse hardware-aware training that the trainer cannot do: the profile is read and
    checked (its own errors name its keys), and must be one the relaxation can run."""
    from ..hardware.profile import load_profile
    from ..hardware.training import not_trainable

    if m["kind"] != "drn" or t["algorithm"] in ("exact", "truncated-bp"):
        raise error_at(path, text, "training", "hardware", "hardware-aware training is for a drn trained by an EP rule",
                       "remove [training] hardware, or train the drn by centered-ep (or another EP rule)")
    if t["backend"] != "numpy":
        raise error_at(path, text, "training", "hardware", "hardware-aware training runs on the numpy engine",
                       "set [training] backend = \"numpy\"")
    t["hardware"] = hardware_path(path, t["hardware"])  # resolved: a resumed run reads it from its own folder
    why = not_trainable(load_profile(t["hardware"]))
    if why:
        raise error_at(path, text, "training", "hardware", f"hardware profile '{t['hardware']}': {why}",
                       "train with a copy of the profile without wires ([crossbar] wire_ohms = 0); evaluate the "
                       "trained network with the full profile (resim evaluate --hardware)")


def _check_engine(t: dict, error) -> None:
    """Refuse engine keys that no machine could honour (:func:`~resim.drn.engine.engine_problem`),
    as ``error(key, message, hint)`` says."""
    problem = engine_problem(t["backend"], t["device"], t["dtype"], t["precision"])
    if problem:
        raise error(*problem)


def with_engine(config: Config, **keys: str | None) -> Config:
    """``config`` with the engine keys given (not None) replaced, checked as the file's are:
    the command-line overrides of ``resim train`` and ``resim evaluate``. A bad override is
    an :class:`~resim.drn.engine.EngineUnavailable` (a usage error) naming the option."""
    given = {k: v for k, v in keys.items() if v is not None}
    if not given:
        return config
    values = {section: dict(keys) for section, keys in config.values.items()}
    values["training"].update(given)

    def error(key, message, hint=None):
        if key in given:
            return EngineUnavailable(f"--{key}: {message}", hint=hint)
        return ConfigError(message, hint=hint)

    _check_engine(values["training"], error)
    return Config(values, config.path, config.text)


def with_seed(config: Config, seed: int | None) -> Config:
    """``config`` with ``[training] seed`` replaced when ``seed`` is given: ``resim train
    --seed``, which runs one config's seeds without a copy of the file per seed."""
    if seed is None:
        return config
    values = {section: dict(keys) for section, keys in config.values.items()}
    values["training"]["seed"] = int(seed)
    return Config(values, config.path, config.text)


def _coerce(kind: str, value: Any) -> tuple[bool, Any]:
    if kind == "number":
        return (isinstance(value, (int, float)) and not isinstance(value, bool)), float(value) if isinstance(
            value, (int, float)) and not isinstance(value, bool) else value
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool), value
    if kind == "string":
        return isinstance(value, str), value
    if kind == "list of integers":
        return isinstance(value, list) and all(isinstance(x, int) and not isinstance(x, bool) for x in value), value
    if kind == _LIST_F:
        ok = isinstance(value, list) and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in value)
        return ok, [float(x) for x in value] if ok else value
    return False, value  # pragma: no cover


def _as_list(v) -> list:
    return v if isinstance(v, list) else [v]


def _copy(v):
    return list(v) if isinstance(v, list) else v


