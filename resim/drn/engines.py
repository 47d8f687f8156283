"""Choosing an engine (:mod:`resim.drn.engine`): by name, from ``[training] backend, device,
dtype, precision``, or by the arrays at hand."""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from .engine import NUMPY32, NUMPY64, TORCH_INSTALL, Engine, EngineUnavailable, engine_problem


def engine_of(a: Any) -> Engine:
    """The engine of an array (at its own precision): numpy for numpy arrays, torch on the
    tensor's device for torch tensors (one engine per dtype and device, made once)."""
    if isinstance(a, np.ndarray):
        return NUMPY32 if a.dtype == np.float32 else NUMPY64
    return _torch_engine(str(a.dtype).removeprefix("torch."), str(a.device))


@functools.cache
def _torch_engine(dtype: str, device: str) -> Engine:
    from .torch_engine import TorchEngine

    return TorchEngine(dtype, None, device)


def make_engine(backend: str = "numpy", device: str = "cpu", dtype: str = "float64",
                precision: str | None = None) -> Engine:
    """The engine that ``[training] backend / device / dtype / precision`` name.

    :class:`EngineUnavailable` for keys no machine could honour (:func:`engine_problem`),
    when torch is not installed, or when the device is not there."""
    problem = engine_problem(backend, device, dtype, precision or "")
    if problem:
        raise EngineUnavailable(problem[1], hint=problem[2])
    if backend == "numpy":
        return Engine(dtype, precision)
    try:
        from .torch_engine import TorchEngine
    except ImportError:
        raise EngineUnavailable("backend \"torch\" needs PyTorch, which is not installed",
                                hint=TORCH_INSTALL) from None
    return TorchEngine(dtype, precision, device)
