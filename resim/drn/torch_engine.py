"""The torch engine (``resim[torch]``): :class:`resim.drn.engine.Engine`'s operations on
torch tensors, on the CPU (oneDNN) or a CUDA device.

Importing this module imports torch; :func:`resim.drn.engines.make_engine` turns its
absence into a message with the install command. Products run on torch's own threads
(``threads``). On the CPU the matrices are column-major, numpy's layout, so that the update
of a matrix far beyond the cache (DRN-XL's W[0]) can go through numpy's on views of them
(:func:`resim.drn.rules.descend`); on a GPU they are row-major. Nothing here needs
autograd: every gradient (truncated BP's included) is written out by hand, once, for both
engines.
"""

from __future__ import annotations

import contextlib
from typing import Any

import numpy as np
import torch

from .engine import Engine, EngineUnavailable, numpy_threads

_DTYPES = {"float32": torch.float32, "float64": torch.float64, "bfloat16": torch.bfloat16}


class TorchEngine(Engine):
    backend = "torch"

    def __init__(self, dtype: str = "float32", precision: str | None = None, device: str = "cpu") -> None:
        super().__init__(dtype, precision)
        self.device = _device(device)
        self.torch_dtype = _DTYPES[dtype]
        self.product_dtype = _DTYPES[self.precision]
        self._bounds: dict = {}

    def _where(self) -> tuple:
        return (self.device,)

    def asarray(self, x: Any) -> torch.Tensor:
        """A tensor of ``x`` on this engine's device; a copy, never sharing a numpy array's
        memory (the training step updates its tensors in place)."""
        if isinstance(x, torch.Tensor):
            return x.to(self.device, self.torch_dtype)
        return torch.tensor(np.ascontiguousarray(x, self.dtype), device=self.device)

    def numpy(self, a: Any) -> np.ndarray:
        """``a`` as a numpy array: on the CPU a view of the tensor's memory, not a copy."""
        return a.detach().cpu().numpy() if isinstance(a, torch.Tensor) else np.asarray(a)

    def matrix(self, w: Any) -> torch.Tensor:
        """On the CPU column-major, as numpy's (so that numpy's update can work on it in
        place, :meth:`numpy_view`); on a GPU row-major."""
        w = self.numpy(w)
        if self.device == "cpu":
            return self.asarray(np.ascontiguousarray(w.T)).T
        return self.asarray(w).contiguous()

    def zeros(self, shape) -> torch.Tensor:
        return torch.zeros(shape, dtype=self.torch_dtype, device=self.device)

    def ones(self, shape) -> torch.Tensor:
        return torch.ones(shape, dtype=self.torch_dtype, device=self.device)

    def full(self, shape, value: float) -> torch.Tensor:
        return torch.full(shape, value, dtype=self.torch_dtype, device=self.device)

    def concat(self, arrays: list, axis: int = 0) -> torch.Tensor:
        return torch.cat(arrays, dim=axis)

    def for_products(self, w: torch.Tensor) -> torch.Tensor:
        return w if self.product_dtype == self.torch_dtype else w.to(self.product_dtype)

    def product(self, a: torch.Tensor, b: torch.Tensor, pool=None) -> torch.Tensor:
        if b.dtype == self.torch_dtype:
            return a @ b
        return (a.to(b.dtype) @ b).to(self.torch_dtype)

    def add_product(self, v: torch.Tensor, a: torch.Tensor, b: torch.Tensor, pool=None) -> None:
        # a bfloat16 product added to float32 in place: no float32 copy of it (the sum is float32's)
        v += a.to(b.dtype) @ b

    def inner(self, P: torch.Tensor, Q: torch.Tensor, pool=None) -> torch.Tensor:
        # in a matrix's layout (column-major on the CPU), so that the update's elementwise
        # work on it and the momenta runs along memory (DRN-2H by TBP: its update took 8 s per
        # epoch so, 16 s row-major)
        return (Q.T @ P).T if self.device == "cpu" else P.T @ Q

    def add_outer(self, C: torch.Tensor, alpha: float, P: torch.Tensor, Q: torch.Tensor, beta: float = 1.0) -> None:
        C.addmm_(P.T, Q, beta=float(beta), alpha=float(alpha))

    def clip_(self, v: torch.Tensor, low: torch.Tensor, high: torch.Tensor) -> None:
        torch.maximum(v, low, out=v)
        torch.minimum(v, high, out=v)

    def relu_(self, z: torch.Tensor) -> None:
        z.clamp_(min=0)

    def clip_conductances(self, W: torch.Tensor) -> None:
        W.clamp_(min=0)

    def coldot(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return torch.linalg.vecdot(a, b, dim=0)

    def reciprocal(self, d: torch.Tensor) -> torch.Tensor:
        return torch.where(d > 0, 1.0 / torch.where(d > 0, d, torch.ones_like(d)), torch.zeros_like(d))

    def max_abs(self, a: torch.Tensor) -> float:
        return float(a.abs().max()) if a.numel() else 0.0

    def diode_bounds(self, hidden: tuple[int, ...]) -> tuple[list, list]:
        if hidden not in self._bounds:
            low, high = super().diode_bounds(hidden)
            self._bounds[hidden] = [self.asarray(a) for a in low], [self.asarray(a) for a in high]
        return self._bounds[hidden]

    def fuses_updates(self) -> bool:
        return False

    def numpy_view(self, a: torch.Tensor):
        return a.numpy() if self.device == "cpu" else None

    def from_numpy_view(self, a: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(a)

    def threads(self, n: int):
        return _torch_threads(n, self.device)


@contextlib.contextmanager
def _torch_threads(n: int, device: str):
    """torch's intra-op threads at ``n`` meanwhile (torch splits its own products); on the
    CPU also numpy's (:func:`~resim.drn.engine.numpy_threads`), whose pool is the value, for
    the update that goes through numpy."""
    previous = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        if device == "cpu":
            with numpy_threads(n) as pool:
                yield pool
        else:
            yield None
    finally:
        torch.set_num_threads(previous)


def _device(name: str) -> str:
    """``cpu``, ``cuda`` or ``cuda:N`` (:func:`~resim.drn.engine.engine_problem` checked the
    name), checked against what this machine has."""
    if name != "cpu":
        if not torch.cuda.is_available():
            raise EngineUnavailable(f"device '{name}' was asked for, but torch sees no CUDA GPU here"
                                    f" (torch {torch.__version__}, built {'with' if torch.version.cuda else 'without'}"
                                    " CUDA)", hint="device = \"cpu\", or run on a machine with an NVIDIA GPU and a "
                                                   "CUDA build of torch")
        index = int(name[5:]) if ":" in name else torch.cuda.current_device()
        if index >= torch.cuda.device_count():
            raise EngineUnavailable(f"device '{name}' is not here: torch sees {torch.cuda.device_count()} CUDA "
                                    "GPU(s)", hint=f"cuda:0 ... cuda:{torch.cuda.device_count() - 1}")
        return f"cuda:{index}"
    return name
