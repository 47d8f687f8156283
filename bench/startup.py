"""Start-up of ``resim solve`` on a 10-element netlist, against ``ngspice -b`` (issue 5).

    python bench/startup.py --repeats 21

Shell loops over small netlists pay the process start every time. Times the whole
process (``resim solve ten.cir`` with the table, CSV and JSON outputs; the console script
next to this Python), the same with a ``resim serve`` running (``$RESIM_SERVER``), and
``ngspice -b ten.cir`` on the same netlist, interleaved; medians. Also prints what the
interpreter alone costs here (``python -c pass`` and ``python -c "import numpy"``), the
floor under any Python tool that loads numpy. Says whether resim's own modules have a
current bytecode cache: without one (``PYTHONDONTWRITEBYTECODE`` set and no ``make``, which
runs ``compileall``), every process compiles them again.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import time
import shutil
import statistics
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from _common import machine, run_command  # noqa: E402

TEN = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "netlists", "ladder10.cir")


def bytecode_state() -> str:
    """Whether resim's modules have current bytecode, and whether Python may write it."""
    import importlib.util
    from pathlib import Path

    import resim

    sources = sorted(Path(resim.__file__).parent.rglob("*.py"))
    stale = [s for s in sources if not os.path.exists(importlib.util.cache_from_source(str(s)))
             or os.path.getmtime(importlib.util.cache_from_source(str(s))) < os.path.getmtime(s)]
    writes = "no" if os.environ.get("PYTHONDONTWRITEBYTECODE") else "yes"
    return (f"resim bytecode: {len(sources) - len(stale)} of {len(sources)} modules cached; "
            f"Python writes bytecode: {writes}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=21)
    args = ap.parse_args()
    print(machine())
    print(bytecode_state())
    exe = os.path.join(os.path.dirname(sys.executable), "resim")
    if not os.path.exists(exe):
        exe = shutil.which("resim")
    ng = shutil.which("ngspice")
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "ten.cir")
        shutil.copyfile(TEN, path)
        runs = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "python -c 'import numpy'": [sys.executable, "-c", "import numpy"],
            "resim solve ten.cir (table)": [exe, "solve", path],
            "resim solve ten.cir --format csv": [exe, "solve", path, "--format", "csv"],
            "resim solve ten.cir --format json": [exe, "solve", path, "--format", "json"],
        }
        served = "resim solve ten.cir --format csv, served"
        runs[served] = [exe, "solve", path, "--format", "csv"]
        if ng:
            runs["ngspice -b ten.cir"] = [ng, "-b", path]
        sock = os.path.join(tmp, "resim.sock")
        server = subprocess.Popen([exe, "serve", "--socket", sock], stderr=subprocess.DEVNULL)
        while not os.path.exists(sock):
            time.sleep(0.05)
        env = dict(os.environ, RESIM_SERVER=sock)
        try:
            for name, cmd in runs.items():  # warm the file cache and Lark's grammar cache
                run_command(cmd, cwd=tmp, env=env if name == served else None)
            samples: dict[str, list[float]] = {k: [] for k in runs}
            for _ in range(args.repeats):
                for name, cmd in runs.items():
                    samples[name].append(run_command(cmd, cwd=tmp, env=env if name == served else None))
        finally:
            server.terminate()
            server.wait()
    for name, xs in samples.items():
        print(f"{name:36s} median {statistics.median(xs) * 1e3:7.1f} ms   (min {min(xs) * 1e3:6.1f} ms)")
    if ng:
        base = statistics.median(samples["ngspice -b ten.cir"])
        t = statistics.median(samples["resim solve ten.cir --format csv"])
        served_t = statistics.median(samples[served])
        print(f"resim (csv) / ngspice: {t / base:.1f}x the time; served: {served_t / base:.1f}x; "
              f"target: resim at most 250 ms")


if __name__ == "__main__":
    main()
