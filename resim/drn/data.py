"""Image datasets as IDX files (MNIST, Fashion-MNIST, KMNIST, or any folder of IDX files).

A folder the user names (``--data-dir`` or ``data_dir``) must hold the four files, itself
or in a subfolder named after the dataset: nothing else is tried, so a mistyped folder is an
error, not a silent fall-back to other files. Without one, they are looked up, in order, in
``$RESIM_DATA`` (it, or its ``<name>`` subfolder), the cache folder
(``$XDG_CACHE_HOME/resim/datasets/<name>``, default ``~/.cache/resim/datasets/<name>``), and
for Fashion-MNIST the folder of Debian's ``dataset-fashion-mnist`` package; each folder may
hold the files gzipped or not. Otherwise the four files are downloaded into the cache from
the dataset's home, each checked against its SHA-256 (a file that does not match is
deleted and refused), and written atomically. Without network the error says how to get
the files.
"""

from __future__ import annotations

import gzip
import hashlib
import math
import os
import struct
import urllib.error
import urllib.request
from dataclasses import dataclass

import numpy as np

from ..errors import ResimError

FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
DEBIAN_FASHION = "/usr/share/datasets/fashion-mnist"

#: name -> (base URL, {file.gz: sha256})
SOURCES: dict[str, tuple[str, dict[str, str]]] = {
    "mnist": ("https://ossci-datasets.s3.amazonaws.com/mnist/", {
        "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
        "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
        "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
        "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
    }),
    "fashion-mnist": ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/", {
        "train-images-idx3-ubyte.gz": "b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7",
        "train-labels-idx1-ubyte.gz": "0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056",
        "t10k-images-idx3-ubyte.gz": "cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa",
        "t10k-labels-idx1-ubyte.gz": "8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05",
    }),
    "kmnist": ("http://codh.rois.ac.jp/kmnist/dataset/kmnist/", {
        "train-images-idx3-ubyte.gz": "51467d22d8cc72929e2a028a0428f2086b092bb31cfb79c69cc0a90ce135fde4",
        "train-labels-idx1-ubyte.gz": "e38f9ebcd0f3ebcdec7fc8eabdcdaef93bb0df8ea12bee65224341c8183d8e17",
        "t10k-images-idx3-ubyte.gz": "edd7a857845ad6bb1d0ba43fe7e794d164fe2dce499a1694695a792adfac43c5",
        "t10k-labels-idx1-ubyte.gz": "20bb9a0ef54c7db3efc55a92eef5582c109615df22683c380526788f98e42a1c",
    }),
}


class DataError(ResimError):
    """A dataset that cannot be found, downloaded or read."""

    exit_code = 7


@dataclass(frozen=True)
class Dataset:
    name: str
    train_x: np.ndarray  # [N, pixels] float in [0, 1]
    train_y: np.ndarray  # [N] int
    test_x: np.ndarray
    test_y: np.ndarray
    folder: str

    @property
    def pixels(self) -> int:
        """Pixels per image."""
        return self.train_x.shape[1]

    @property
    def classes(self) -> int:
        """How many outputs the labels need: the largest label + 1."""
        return int(max(self.train_y.max(initial=-1), self.test_y.max(initial=-1))) + 1

    def mirrored(self, images: np.ndarray) -> np.ndarray:
        """``images`` ([N, pixels], square) mirrored left-right: column c of each row of
        pixels becomes column side - 1 - c."""
        side = math.isqrt(self.pixels)
        if side * side != self.pixels:
            raise DataError(f"{self.name}: {self.pixels} pixels are not a square image, so they cannot be mirrored",
                            hint="set [data] flip = 0 for this dataset")
        return images.reshape(-1, side, side)[:, :, ::-1].reshape(images.shape)

    def misfit(self, pixels: int, outputs: int) -> str | None:
        """Why a network with ``pixels`` inputs and ``outputs`` outputs cannot use these images
        (None when it can)."""
        if pixels != self.pixels:
            return f"the {self.name} images have {self.pixels} pixels, not {pixels}"
        if outputs < self.classes:
            return f"{self.name} has labels 0..{self.classes - 1}, so it needs {self.classes} outputs, not {outputs}"
        return None


def read_idx(path: str) -> np.ndarray:
    """An IDX file (``.gz`` or raw): unsigned-byte data with its dimensions."""
    opener = gzip.open if path.endswith(".gz") else open
    try:
        with opener(path, "rb") as fh:
            data = fh.read()
    except (OSError, EOFError) as exc:
        raise DataError(f"cannot read IDX file '{path}': {exc}") from None
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise DataError(f"'{path}' is not an IDX file (bad magic number)")
    dtype_code, ndim = data[2], data[3]
    if dtype_code != 0x08:
        raise DataError(f"'{path}': IDX type 0x{dtype_code:02x} is not supported (unsigned bytes only)")
    dims = struct.unpack(f">{ndim}I", data[4:4 + 4 * ndim])
    body = np.frombuffer(data, np.uint8, offset=4 + 4 * ndim)
    if body.size != int(np.prod(dims)):
        raise DataError(f"'{path}': {body.size} bytes of data for dimensions {dims}")
    return body.reshape(dims)


def cache_root() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "resim", "datasets")


def _find(folder: str) -> dict[str, str] | None:
    found = {}
    for f in FILES:
        for candidate in (os.path.join(folder, f), os.path.join(folder, f + ".gz")):
            if os.path.exists(candidate):
                found[f] = candidate
                break
        else:
            return None
    return found


def locate(name: str, data_dir: str | None = None, base_url: str | None = None) -> dict[str, str]:
    """Paths of the four IDX files of dataset ``name`` (see the module docstring)."""
    if name.startswith("idx:"):
        folder = name[4:]
        found = _find(folder)
        if found is None:
            raise DataError(f"'{folder}' does not hold the four IDX files ({', '.join(FILES)}, optionally .gz)")
        return found
    if name not in SOURCES:
        raise DataError(f"unknown dataset '{name}'", hint=f"choose from {', '.join(SOURCES)} or idx:<folder>")
    if data_dir:
        return _named_folder(name, data_dir)
    env = os.environ.get("RESIM_DATA")
    places = [os.path.join(env, name), env] if env else []
    places.append(os.path.join(cache_root(), name))
    if name == "fashion-mnist":
        places.append(DEBIAN_FASHION)
    return _find_first(places) or download(name, os.path.join(cache_root(), name), base_url)


def _find_first(folders: list[str]) -> dict[str, str] | None:
    """The four files in the first of ``folders`` that holds them all."""
    for folder in folders:
        found = _find(folder)
        if found is not None:
            return found
    return None


def _named_folder(name: str, folder: str) -> dict[str, str]:
    """The four files of ``name`` in the folder the user named (or its ``name`` subfolder)."""
    elsewhere = "or leave out --data-dir and [data] data_dir to use $RESIM_DATA, the cache or a download"
    if not os.path.isdir(folder):
        raise DataError(f"{name}: the data folder '{folder}' does not exist", hint=f"correct the folder, {elsewhere}")
    found = _find_first([os.path.join(folder, name), folder])
    if found is None:
        raise DataError(f"{name}: the data folder '{folder}' holds neither the four IDX files nor a '{name}' "
                        "subfolder with them", hint=f"the files: {', '.join(FILES)} (optionally .gz); {elsewhere}")
    return found


def download(name: str, folder: str, base_url: str | None = None) -> dict[str, str]:
    """Fetch the four files into ``folder``, each checked against its SHA-256."""
    url, sums = SOURCES[name]
    url = base_url or url
    os.makedirs(folder, exist_ok=True)
    found = {}
    for fname, digest in sums.items():
        target = os.path.join(folder, fname)
        if not os.path.exists(target):
            tmp = target + ".part"
            try:
                with urllib.request.urlopen(url + fname, timeout=60) as resp, open(tmp, "wb") as fh:
                    while chunk := resp.read(1 << 20):
                        fh.write(chunk)
            except (urllib.error.URLError, OSError, TimeoutError) as exc:
                if os.path.exists(tmp):
                    os.unlink(tmp)
                hint = (f"put the four files ({', '.join(f + '.gz' for f in FILES)}) in a folder and pass "
                        f"--data-dir (or set $RESIM_DATA), or into {folder}")
                if name == "fashion-mnist":
                    hint += "; on Debian/Ubuntu: apt-get install dataset-fashion-mnist"
                raise DataError(f"{name}: cannot download {url + fname}: {getattr(exc, 'reason', exc)}",
                                hint=hint) from None
            got = _sha256(tmp)
            if got != digest:
                os.unlink(tmp)
                raise DataError(f"{name}: {fname} from {url} has SHA-256 {got}, expected {digest}; "
                                "the file was deleted", hint="retry later, or fetch the files yourself (--data-dir)")
            os.replace(tmp, target)
        found[fname[:-3]] = target
    return found


def _sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def load(name: str, data_dir: str | None = None, train_limit: int = 0, test_limit: int = 0,
         base_url: str | None = None) -> Dataset:
    """Dataset ``name`` (found as :func:`locate` says), its first ``train_limit`` training and
    ``test_limit`` test images (0: all), pixels scaled to [0, 1]."""
    paths = locate(name, data_dir, base_url)
    arrays = {f: read_idx(p) for f, p in paths.items()}
    tx, ty = arrays["train-images-idx3-ubyte"], arrays["train-labels-idx1-ubyte"]
    sx, sy = arrays["t10k-images-idx3-ubyte"], arrays["t10k-labels-idx1-ubyte"]
    if len(tx) != len(ty) or len(sx) != len(sy):
        raise DataError(f"{name}: images and labels differ in number ({len(tx)}/{len(ty)}, {len(sx)}/{len(sy)})")
    if train_limit:
        tx, ty = tx[:train_limit], ty[:train_limit]
    if test_limit:
        sx, sy = sx[:test_limit], sy[:test_limit]
    folder = os.path.dirname(paths[FILES[0]])
    return Dataset(name, tx.reshape(len(tx), -1) / 255.0, ty.astype(np.int64), sx.reshape(len(sx), -1) / 255.0,
                   sy.astype(np.int64), folder)
