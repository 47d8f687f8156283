"""How much memory this process may still take, and what reading a netlist needs.

A netlist is refused before it is read when reading it would need more memory than the
process may have (:func:`check_netlist`), rather than failing part-way through or being
killed by the kernel. What the process may have is the least of (:func:`available`):

* the memory the system can give without swapping (``MemAvailable`` in /proc/meminfo);
* the address space left under ``ulimit -v`` (``RLIMIT_AS``; a memory-mapped netlist
  counts against it as a whole);
* what the cgroup allows (``memory.max`` less ``memory.current``, cgroup v2), as in a
  container.

What reading needs (:func:`netlist_need`) is measured, not derived: bench/xl_solve.py
measures the peak of whole ``resim solve`` processes (docs/benchmarks.md), and
:data:`NEED_PER_BYTE` is set above the largest ratio seen, from the file's bytes to the
process's peak.
"""

from __future__ import annotations

import os
import resource

NEED_PER_BYTE = 3.0  # peak process memory per byte of netlist text: DRN-XL measured 2.6-2.7 (docs/benchmarks.md)
NEED_FIXED = 200 << 20  # the interpreter, numpy, scipy and resim themselves


def netlist_need(size: int) -> int:
    """Bytes a ``resim solve`` of a netlist of ``size`` bytes is expected to need at its peak."""
    return int(NEED_PER_BYTE * size) + NEED_FIXED


def available() -> tuple[int, str, bool]:
    """The bytes this process may still take, what limits it (see the module docstring),
    and whether that limit already counts this process's own memory (the interpreter and
    its libraries, :data:`NEED_FIXED`): ``ulimit -v`` and the cgroup do, ``MemAvailable``
    does not."""
    found = []
    meminfo = _meminfo()
    if "MemAvailable" in meminfo:
        found.append((meminfo["MemAvailable"], "the memory the system has available", False))
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft != resource.RLIM_INFINITY:
        found.append((max(0, soft - _address_space()), f"the address space left under ulimit -v ({_size(soft)})",
                      True))
    cgroup = _cgroup_left()
    if cgroup is not None:
        found.append((cgroup, "what the cgroup (container) allows", True))
    if not found:
        try:
            found.append((os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"), "the free memory", False))
        except (ValueError, OSError):
            return 1 << 62, "nothing known", True
    return min(found)


def check_netlist(size: int, what: str) -> str | None:
    """None when reading ``size`` bytes of netlist fits in :func:`available`, else the
    message that refuses it (``what`` names the file)."""
    have, limit, counts_self = available()
    need = netlist_need(size) - (NEED_FIXED if counts_self else 0)
    if need <= have:
        return None
    fixed = "" if counts_self else f" + {_size(NEED_FIXED)}"
    return (f"{what} ({_size(size)}) would need about {_size(need)} of memory to read and solve "
            f"({NEED_PER_BYTE:g} x its size{fixed}), more than {limit}: {_size(have)}")


def _size(n: int) -> str:
    """``n`` bytes as people read them: 2.33 GB, 812 MB, 4.0 kB."""
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            return f"{n / scale:.3g} {unit}"
    return f"{n} bytes"


def _meminfo() -> dict[str, int]:
    try:
        with open("/proc/meminfo") as fh:
            return {k: int(v.split()[0]) * 1024 for k, v in (line.split(":", 1) for line in fh) if v.strip()}
    except (OSError, ValueError):
        return {}


def _address_space() -> int:
    """This process's virtual memory size (VmSize), 0 where unknown."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _cgroup_left() -> int | None:
    """What the cgroup v2 of this process still allows, None without a limit."""
    try:
        with open("/proc/self/cgroup") as fh:
            path = next((line.strip().split(":", 2)[2] for line in fh if line.startswith("0::")), None)
        if path is None:
            return None
        folder = os.path.join("/sys/fs/cgroup", path.lstrip("/"))
        with open(os.path.join(folder, "memory.max")) as fh:
            limit = fh.read().strip()
        if limit == "max":
            return None
        with open(os.path.join(folder, "memory.current")) as fh:
            current = int(fh.read().strip())
        with open(os.path.join(folder, "memory.stat")) as fh:  # page cache the kernel can drop is not used
            stat = {k: int(v) for k, v in (line.split() for line in fh if line.count(" ") == 1)}
        return max(0, int(limit) - current + stat.get("inactive_file", 0))
    except (OSError, ValueError, StopIteration):
        return None


def give_back_free_memory() -> None:
    """Return the C heap's free pages to the system (glibc's ``malloc_trim``; nothing
    elsewhere). The bulk scanner receives a large netlist's columns as thousands of
    arrays of a few hundred kB, which the heap holds; once they are joined into whole
    columns and freed, their pages would stay in the process's resident memory (about
    0.3 GB for DRN-XL) unless given back."""
    import ctypes

    try:  # the process's own symbols: no library search (ctypes.util.find_library runs ldconfig)
        trim = getattr(ctypes.CDLL(None), "malloc_trim", None)
    except OSError:
        return
    if trim is not None:
        trim(0)
