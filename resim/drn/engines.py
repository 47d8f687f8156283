"""Choosing an engine (:mod:`resim.drn.engine`): by name, from ``[training] backend, device,
dtype, precision``, or by the arrays at hand."""

from __future__ import annotations

from typing import Any

import numpy as np

from .engine import NUMPY32, NUMPY64, BACKENDS, Engine, EngineUnavailable, TORCH_INSTALL


def engine_of(a: Any) -> Engine:
    """The engine of an array (at its own precision): numpy for numpy arrays, torch on the
    tensor's device for torch tensors."""
    if isinstance(a, np.ndarray):
        return NUMPY32 if a.dtype == np.float32 else NUMPY64
    from .torch_engine import TorchEngine

    return TorchEngine(str(a.dtype).removeprefix("torch."), None, str(a.device))


def make_engine(backend: str = "numpy", device: str = "cpu", dtype: str = "float64",
                precision: str | None = None) -> Engine:
    """The engine that ``[training] backend / device / dtype / precision`` name.

    :class:`EngineUnavailable` when torch is not installed, when the device is not there,
    or when numpy is asked for a GPU or for bfloat16 products."""
    if backend == "numpy":
        if device != "cpu":
            raise EngineUnavailable(f"the numpy backend runs on the CPU, not on '{device}'",
                                    hint="backend = \"torch\" runs on a CUDA device")
        if precision == "bfloat16":
            raise EngineUnavailable("bfloat16 products need the torch backend",
                                    hint="backend = \"torch\" (numpy has no bfloat16 matrix product)")
        return Engine(dtype, precision)
    if backend != "torch":
        raise EngineUnavailable(f"unknown backend '{backend}'", hint=f"choose from {', '.join(BACKENDS)}")
    try:
        from .torch_engine import TorchEngine
    except ImportError:
        raise EngineUnavailable("backend \"torch\" needs PyTorch, which is not installed",
                                hint=TORCH_INSTALL) from None
    return TorchEngine(dtype, precision, device)
