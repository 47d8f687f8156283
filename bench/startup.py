"""Start-up of ``resim solve`` on a 10-element netlist, against ``ngspice -b`` (issue 5).

    python bench/startup.py --repeats 21
    python bench/startup.py --repeats 21 --before DIR    # DIR/resim: an older resim, interleaved

Shell loops over small netlists pay the process start every time. Times the whole
process (``resim solve ten.cir`` with the table, CSV and JSON outputs; the console script
next to this Python), the same with a ``resim serve`` running (``$RESIM_SERVER``), and
``ngspice -b ten.cir`` on the same netlist, interleaved; medians. Also prints what the
interpreter alone costs here (``python -c pass`` and ``python -c "import numpy"``), the
floor under any Python tool that loads numpy. Says whether resim's own modules have a
current bytecode cache: without one (``PYTHONDONTWRITEBYTECODE`` set and no ``make``, which
runs ``compileall``), every process compiles them again.

``--before DIR`` adds the same solves by the resim package in ``DIR/resim`` (for example
``git archive COMMIT resim | tar -x -C DIR``), run by the same console script and
interpreter with ``PYTHONPATH=DIR``: a before-and-after in one run, as the machine's speed
drifts between runs. Its bytecode is as ``DIR`` has it (none, from ``git archive``: what
an editable install left before ``make`` compiled it).
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


def bytecode_state(folder: str | None = None) -> str:
    """Whether resim's modules (those of ``folder/resim`` if given) have current bytecode,
    and whether Python may write it."""
    import importlib.util
    from pathlib import Path

    if folder is None:
        import resim

        package = Path(resim.__file__).parent
    else:
        package = Path(folder) / "resim"
    sources = sorted(package.rglob("*.py"))
    stale = [s for s in sources if not os.path.exists(importlib.util.cache_from_source(str(s)))
             or os.path.getmtime(importlib.util.cache_from_source(str(s))) < os.path.getmtime(s)]
    writes = "no" if os.environ.get("PYTHONDONTWRITEBYTECODE") else "yes"
    return (f"resim bytecode ({package}): {len(sources) - len(stale)} of {len(sources)} modules cached; "
            f"Python writes bytecode: {writes}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=21)
    ap.add_argument("--before", metavar="DIR", help="also time the resim package in DIR/resim (PYTHONPATH=DIR)")
    args = ap.parse_args()
    if args.before and not os.path.isfile(os.path.join(args.before, "resim", "__init__.py")):
        sys.exit(f"--before {args.before}: no resim package there (DIR/resim/__init__.py)")
    print(machine())
    print(bytecode_state())
    if args.before:
        print(bytecode_state(args.before))
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
        before = {}
        if args.before:
            before = {f"before: {name}": cmd for name, cmd in runs.items() if name.startswith("resim")}
            runs.update(before)
        served = "resim solve ten.cir --format csv, served"
        runs[served] = [exe, "solve", path, "--format", "csv"]
        if ng:
            runs["ngspice -b ten.cir"] = [ng, "-b", path]
        sock = os.path.join(tmp, "resim.sock")
        server = subprocess.Popen([exe, "serve", "--socket", sock], stderr=subprocess.DEVNULL)
        while not os.path.exists(sock):
            time.sleep(0.05)
        envs = {served: dict(os.environ, RESIM_SERVER=sock)}
        envs.update({name: dict(os.environ, PYTHONPATH=os.path.abspath(args.before)) for name in before})
        if before:  # the older package, not this one, is what those runs import
            found = subprocess.run([sys.executable, "-c", "import resim; print(resim.__file__)"], cwd=tmp,
                                   env=envs[next(iter(before))], capture_output=True, text=True).stdout.strip()
            if not found.startswith(os.path.abspath(args.before)):
                sys.exit(f"--before {args.before}: the runs would import {found or 'nothing'}")
        try:
            for name, cmd in runs.items():  # warm the file cache and Lark's grammar cache
                run_command(cmd, cwd=tmp, env=envs.get(name))
            samples: dict[str, list[float]] = {k: [] for k in runs}
            for _ in range(args.repeats):
                for name, cmd in runs.items():
                    samples[name].append(run_command(cmd, cwd=tmp, env=envs.get(name)))
        finally:
            server.terminate()
            server.wait()
    for name, xs in samples.items():
        print(f"{name:44s} median {statistics.median(xs) * 1e3:7.1f} ms   (min {min(xs) * 1e3:6.1f} ms)")
    if ng:
        base = statistics.median(samples["ngspice -b ten.cir"])
        t = statistics.median(samples["resim solve ten.cir --format csv"])
        served_t = statistics.median(samples[served])
        print(f"resim (csv) / ngspice: {t / base:.1f}x the time; served: {served_t / base:.1f}x; "
              f"target: resim at most 250 ms")


if __name__ == "__main__":
    main()
