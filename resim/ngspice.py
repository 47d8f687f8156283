"""Run ngspice in batch mode and read back the DC operating point.

A reference runner (stdlib and numpy, plus resim's error base class) used to
cross-check resim against ngspice.

Observed ngspice-39 conventions (checked against /usr/bin/ngspice, ngspice-39):

* Names are lower-cased everywhere (nodes, elements, the plot title).
* Rawfile variables of an ``.op`` plot are ``v(<node>)`` (type ``voltage``)
  and ``i(<element>)`` (type ``current``); the ``<element>#branch`` spelling
  only shows up in ngspice's console messages (e.g. "singular matrix: check
  node v1#branch") and in some ``write`` outputs, so both are accepted here.
* Hierarchical nodes are ``<instance path>.<local node>`` joined by dots, the
  ``x`` kept on the instance names: node ``mid`` of ``X1`` inside ``Xa`` is
  ``v(xa.x1.mid)``.
* Hierarchical elements put the element-type letter first, then the instance
  path, then the local name: resistor ``R1`` of ``X1`` inside ``Xa`` is
  ``r.xa.x1.r1`` (``@r.xa.x1.r1[i]``); a voltage source ``V1`` there gives the
  branch current ``i(v.xa.x1.v1)``, stored in ``currents`` as ``"v.xa.x1.v1"``.
  Top-level names are unchanged: ``i(vin)`` -> ``"vin"``.
* Branch currents in the rawfile: V sources, inductors, E and H sources
  (``i(v1)``, ``i(l1)``, ``i(e1)``, ``i(h1)``).  With ``.options
  savecurrents`` device currents appear as ``i(@r1[i])``, ``i(@d1[id])``;
  those are kept verbatim as ``"@r1[i]"`` / ``"@d1[id]"``.
  Internal nodes (e.g. a diode's RS node) are not written.
* A V-source current is positive flowing into the ``+`` node through the
  source: ``V1 in 0 5`` feeding a load reports ``i(v1) < 0``.
* Diode DC model: ngspice adds ``gmin`` (default 1e-12 S) in parallel with
  each junction, and the thermal voltage at the default 27 C (300.15 K) is
  ``k*T/q`` with k=1.38064852e-23, q=1.6021766208e-19 (CODATA 2014), i.e.
  Vt = 0.025864917007 V.  ``D1 a 0 dm`` / ``I1 0 a 1m`` /
  ``.model dm D(IS=1e-14 N=1)`` gives v(a) = 0.655117895638 V
  (rawfile: 6.551178956376125e-01), which matches
  Vt*ln(I/IS + 1) with the 1e-12 S gmin shunt to 13 digits (without gmin it
  would be 0.6551178956546; with CODATA-2018 constants 0.6551181180003).
  At I = 1 fA the gmin shunt dominates: 7.1836852876e-04 V vs 2.4652e-03 V.
* Later ``.options`` lines override earlier ones, so the options injected by
  :func:`run_op` (placed just before ``.end``) win over the netlist's own.
* ``SPICE_ASCIIRAWFILE=1`` in the environment makes ``ngspice -b -r`` write an
  ASCII rawfile (``.options filetype=ascii`` works as well).  Values are
  printed with ``%.15e`` (16 significant digits).
* Failure signals: parse errors exit with status 1 ("Error on line ...",
  "circuit not parsed"); an unsolvable DC point (e.g. a loop of voltage
  sources) exits 1 with "singular matrix" and a rawfile with ``No. Points: 0``.
  Floating nodes / a current source into a capacitor only produce
  "Warning: singular matrix" and ngspice then *succeeds* via gmin stepping or
  the "transient op" fallback with exit status 0 and a meaningless answer;
  :func:`run_op` treats any "singular matrix" message as a failure.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import ResimError

__all__ = [
    "NgspiceError",
    "NgspiceNotFound",
    "NgspiceResult",
    "NgspiceTimeout",
    "find_ngspice",
    "read_ascii_rawfile",
    "run_dc",
    "run_op",
]

DEFAULT_OPTIONS = "reltol=1e-9 vntol=1e-12 abstol=1e-15"
INSTALL_HINT = (
    "install it with `apt-get install -y ngspice` (Debian/Ubuntu), or point "
    "$RESIM_NGSPICE at an ngspice executable"
)
TAIL_LINES = 20

# Case-insensitive substrings of ngspice output that mean the run failed even
# if ngspice exited with status 0.
_FAILURE_MARKERS = (
    "singular matrix",
    "no convergence",
    "timestep too small",
    "doanalyses",
    "dc solution failed",
    "circuit not parsed",
    "simulation interrupted",
    "error on line",
)

# ngspice's closing resource report; dropped from error tails as noise.
_NOISE_RE = re.compile(
    r"^\s*(Total DRAM|DRAM currently|Maximum ngspice|Current ngspice|"
    r"Shared ngspice|Text \(code\)|Stack =|Library pages|Total elapsed time|"
    r"Note: No compatibility mode)"
)
_END_RE = re.compile(r"^\s*\.end\s*$", re.IGNORECASE)
_OP_RE = re.compile(r"^\s*\.op\b", re.IGNORECASE)
_FUNC_NAME_RE = re.compile(r"^([vi])\((.*)\)$")
_GROUND_NAMES = frozenset({"0", "gnd"})


def _balanced(name: str) -> str:
    """A node name from a rawfile's ``v(name)``: ngspice 39 writes ``v(net-(r1-pad2))`` as
    ``v(net-(r1-pad2)`` (KiCad's node names hold parentheses), so the closing one of a name
    that ends in one is restored."""
    return name + ")" * max(0, name.count("(") - name.count(")"))


class NgspiceError(ResimError):
    """ngspice is missing, failed, or produced output that cannot be read.

    The message ends with the tail of ngspice's output; the full output is in
    :attr:`log` (empty if ngspice never ran).
    """

    exit_code = 8

    def __init__(self, message: str, log: str = "") -> None:
        super().__init__(message)
        self.log = log


class NgspiceNotFound(NgspiceError):
    """No usable ngspice executable was found."""


class NgspiceTimeout(NgspiceError):
    """ngspice ran past its time limit and was killed, with every process it started."""


@dataclass(frozen=True)
class NgspiceResult:
    """DC operating point computed by ngspice.

    Attributes:
        voltages: lower-case node name -> voltage, hierarchical names as
            ngspice prints them (``"n1"``, ``"x1.mid"``); ground not included.
        currents: lower-case element name -> branch current for every branch
            current in the rawfile (``"v1"``, ``"v.x1.v1"``, ``"l1"``); device
            currents from ``.options savecurrents`` are kept as ``"@r1[i]"``.
        wall_time: wall-clock seconds spent in the ngspice subprocess.
        log: ngspice's combined stdout and stderr.
    """

    voltages: dict[str, float]
    currents: dict[str, float]
    wall_time: float
    log: str


@dataclass(frozen=True)
class _Plot:
    """One plot of a rawfile: ``values[point, variable]``."""

    name: str
    variables: list[str]
    types: list[str]
    values: np.ndarray


def find_ngspice(path: str | None = None) -> str:
    """Return the ngspice executable to use.

    Looks at ``path``, then ``$RESIM_NGSPICE``, then ``ngspice`` on ``$PATH``;
    the first of these that is given must be usable.  A bare command name is
    resolved through ``$PATH``.

    Raises:
        NgspiceNotFound: with an installation hint.
    """
    if path:
        source, candidate = "the given path", path
    elif os.environ.get("RESIM_NGSPICE"):
        source, candidate = "$RESIM_NGSPICE", os.environ["RESIM_NGSPICE"]
    else:
        found = shutil.which("ngspice")
        if found is None:
            raise NgspiceNotFound(f"ngspice not found on $PATH; {INSTALL_HINT}")
        return found
    resolved = shutil.which(candidate)
    if resolved is None:
        raise NgspiceNotFound(
            f"ngspice not found: {candidate!r} ({source}) is not an executable; "
            f"{INSTALL_HINT}"
        )
    return resolved


def run_op(
    netlist_text: str,
    *,
    ngspice: str | None = None,
    options: str | None = DEFAULT_OPTIONS,
    keep_dir: str | None = None,
    timeout: float = 600,
) -> NgspiceResult:
    """Run a DC operating-point analysis of ``netlist_text`` with ngspice.

    The first netlist line is the title, as in SPICE.  ``.options <options>``
    (unless ``options`` is None) and, if the netlist has no ``.op`` line,
    ``.op`` are inserted just before ``.end`` (appended, with ``.end``, when
    there is none).  Other analyses in the netlist still run, but only the
    "Operating Point" plot is read.

    Args:
        netlist_text: SPICE netlist.  Relative ``.include`` paths resolve
            against the run directory, so use absolute ones.
        ngspice: executable (see :func:`find_ngspice`).
        options: contents of the injected ``.options`` line; None for none.
        keep_dir: directory to run in and keep ``circuit.cir``,
            ``circuit.raw`` and ``ngspice.log``; a temporary directory that
            is removed afterwards when None.
        timeout: seconds before ngspice is killed, with every process it
            started (:class:`NgspiceTimeout`).

    Raises:
        NgspiceNotFound: no ngspice executable.
        NgspiceError: ngspice failed, reported a singular matrix or
            convergence failure, timed out, or left no readable rawfile.
    """
    exe = find_ngspice(ngspice)
    deck = _prepare_netlist(netlist_text, options)
    return _in_workdir(keep_dir, lambda workdir: _run_in(exe, deck, workdir, timeout))


@dataclass(frozen=True)
class NgspiceSweep:
    """A ``.dc`` sweep computed by ngspice: ``sweep`` the swept values (the innermost
    source, all points), ``voltages``/``currents`` name -> array over the points."""

    sweep: np.ndarray
    voltages: dict[str, np.ndarray]
    currents: dict[str, np.ndarray]
    wall_time: float
    log: str


def run_dc(
    netlist_text: str,
    *,
    ngspice: str | None = None,
    options: str | None = DEFAULT_OPTIONS,
    keep_dir: str | None = None,
    timeout: float = 600,
) -> NgspiceSweep:
    """Run the netlist's ``.dc`` analysis with ngspice and read every point (see :func:`run_op`)."""
    exe = find_ngspice(ngspice)
    deck = _prepare_netlist(netlist_text, options, add_op=False)

    def run(workdir: Path) -> NgspiceSweep:
        plots, log, wall = _run_plots(exe, deck, workdir, timeout)
        dc = next((p for p in plots if p.name.strip().lower().startswith("dc transfer") and len(p.values)), None)
        if dc is None:
            raise NgspiceError(_failure("rawfile has no DC transfer characteristic (no .dc line?)", log), log)
        voltages, currents, sweep = {}, {}, None
        for k, (raw_name, vtype) in enumerate(zip(dc.variables, dc.types)):
            name = raw_name.strip().lower()
            column = dc.values[:, k].real.copy()
            match = _FUNC_NAME_RE.match(name)
            kind, name = (match.group(1), _balanced(match.group(2))) if match else (vtype.lower()[:1], name)
            if name.endswith("-sweep"):
                sweep = column
            elif kind == "v":
                voltages[name] = column
            elif kind == "i" or kind == "c":
                currents[name.removesuffix("#branch")] = column
        return NgspiceSweep(sweep if sweep is not None else np.zeros(0), voltages, currents, wall, log)

    return _in_workdir(keep_dir, run)


def read_ascii_rawfile(path_or_text: str | bytes | os.PathLike[str]) -> dict[str, np.ndarray]:
    """Read the first plot of an ASCII SPICE rawfile.

    ``path_or_text`` is a path, or the rawfile contents (a ``str`` containing
    a newline, or ``bytes``).  Returns variable name, exactly as written in
    the file (``"v(n1)"``, ``"i(v1)"``), -> 1-D array with one value per
    point (float64, or complex128 for complex plots).

    Raises:
        NgspiceError: the text is not a readable ASCII rawfile.
    """
    plot = _parse_rawfile(_load_text(path_or_text))[0]
    return {name: plot.values[:, k] for k, name in enumerate(plot.variables)}


# --------------------------------------------------------------------------
# internals


def _in_workdir(keep_dir: str | None, run):
    """``run(folder)`` in ``keep_dir`` (kept) or in a temporary folder (removed after)."""
    if keep_dir is not None:
        folder = Path(keep_dir).absolute()  # ngspice runs in it: a relative path would not resolve there
        os.makedirs(folder, exist_ok=True)
        return run(folder)
    with tempfile.TemporaryDirectory(prefix="resim-ngspice-") as tmp:
        return run(Path(tmp))


def _prepare_netlist(netlist_text: str, options: str | None, add_op: bool = True) -> str:
    """Return the netlist with the options line (and ``.op``, unless ``add_op`` is False) injected."""
    lines = netlist_text.splitlines()
    if not lines:
        raise NgspiceError("empty netlist")
    end = next((i for i in range(1, len(lines)) if _END_RE.match(lines[i])), None)
    body = lines[1:end] if end is not None else lines[1:]
    extra: list[str] = []
    if options is not None and options.strip():
        extra.append(f".options {options.strip()}")
    if add_op and not any(_OP_RE.match(line) for line in body):
        extra.append(".op")
    if end is None:
        lines = lines + extra + [".end"]
    else:
        lines = lines[:end] + extra + lines[end:]
    return "\n".join(lines) + "\n"


def _run_in(exe: str, deck: str, workdir: Path, timeout: float) -> NgspiceResult:
    """Run ngspice on ``deck`` inside ``workdir`` and read its operating point."""
    plots, log, wall_time = _run_plots(exe, deck, workdir, timeout)
    op = next(
        (p for p in plots if p.name.strip().lower() == "operating point" and len(p.values)),
        None,
    )
    if op is None:
        raise NgspiceError(_failure("rawfile has no operating point", log), log)
    voltages, currents = _normalise(op)
    return NgspiceResult(voltages=voltages, currents=currents, wall_time=wall_time, log=log)


KEPT_FILES = ("circuit.cir", "circuit.raw", "ngspice.log")  # what a run writes in its folder (keep_dir)


def _run_plots(exe: str, deck: str, workdir: Path, timeout: float) -> tuple[list[_Plot], str, float]:
    """Run ngspice on ``deck`` inside ``workdir``: the rawfile's plots, the log, the wall time."""
    cir, raw, log_path = (workdir / name for name in KEPT_FILES)
    cir.write_text(deck, encoding="utf-8", errors="surrogateescape")  # bytes read that way are written back as read
    raw.unlink(missing_ok=True)
    start = time.perf_counter()
    returncode, log = _run_process([exe, "-b", "-r", str(raw), str(cir)], workdir, timeout, log_path)
    wall_time = time.perf_counter() - start

    marker = _first_failure_line(log)
    if returncode != 0:
        summary = f"ngspice exited with status {returncode}"
        if marker is not None:
            summary += f" ({marker})"
        raise NgspiceError(_failure(summary, log), log)
    if marker is not None:
        raise NgspiceError(_failure(f"ngspice reported: {marker}", log), log)
    if not raw.exists():
        raise NgspiceError(_failure("ngspice wrote no rawfile", log), log)
    try:
        plots = _parse_rawfile(raw.read_text(errors="replace"))
    except NgspiceError as exc:
        raise NgspiceError(_failure(str(exc), log), log) from None
    return plots, log, wall_time


def _run_process(cmd: list[str], workdir: Path, timeout: float, log_path: Path) -> tuple[int, str]:
    """Run ngspice in a session (a process group) of its own: its exit status and output.

    Past ``timeout`` seconds the whole group is killed, ngspice and whatever it started
    (``shell`` commands, a wrapper script's children), so that nothing is left running
    and nothing holds its output open: :class:`NgspiceTimeout`.
    """
    env = dict(os.environ, SPICE_ASCIIRAWFILE="1")
    try:
        proc = subprocess.Popen(cmd, cwd=workdir, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, start_new_session=True)
    except OSError as exc:
        raise NgspiceNotFound(f"cannot run ngspice {cmd[0]!r}: {exc}; {INSTALL_HINT}") from exc
    try:
        output, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc.pid)  # the leader is not reaped yet, so its group id is still its own
        try:
            output, _ = proc.communicate(timeout=5)
        except subprocess.TimeoutExpired:  # a process that left the group holds the output open
            proc.stdout.close()
            proc.wait()
            output = b""
        log = _decode(output)
        log_path.write_text(log)
        raise NgspiceTimeout(_failure(f"ngspice ran past the time limit of {timeout:g} s (--timeout) "
                                      "and was stopped, with every process it started", log), log) from None
    except BaseException:  # e.g. Ctrl-C: leave nothing running
        _kill_group(proc.pid)
        proc.wait()
        raise
    log = _decode(output)
    log_path.write_text(log)
    return proc.returncode, log


def _kill_group(pgid: int) -> None:
    """SIGKILL process group ``pgid`` (gone already: nothing to do)."""
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _normalise(plot: _Plot) -> tuple[dict[str, float], dict[str, float]]:
    """Split the first point of an OP plot into voltages and currents."""
    voltages: dict[str, float] = {}
    currents: dict[str, float] = {}
    row = plot.values[0]
    for k, (raw_name, vtype) in enumerate(zip(plot.variables, plot.types)):
        name = raw_name.strip().lower()
        value = float(row[k].real)
        match = _FUNC_NAME_RE.match(name)
        if match:
            kind, name = match.group(1), _balanced(match.group(2))
        elif name.endswith("#branch"):
            kind, name = "i", name[: -len("#branch")]
        elif vtype.lower() == "voltage":
            kind = "v"
        elif vtype.lower() == "current":
            kind = "i"
        else:
            continue
        if kind == "v":
            if name not in _GROUND_NAMES:
                voltages[name] = value
        else:
            currents[name] = value
    return voltages, currents


def _parse_rawfile(text: str) -> list[_Plot]:
    """Parse every plot of an ASCII rawfile."""
    plots: list[_Plot] = []
    pos = 0
    while True:
        start = text.find("Title:", pos)
        if start < 0 or text[pos:start].strip():
            break
        plot, pos = _parse_plot(text, start)
        plots.append(plot)
    if not plots:
        raise NgspiceError("not an ASCII rawfile (no 'Title:' header)")
    return plots


def _parse_plot(text: str, start: int) -> tuple[_Plot, int]:
    """Parse the plot whose header starts at ``text[start]``; return it and
    the offset just past its values."""
    var_pos = text.find("\nVariables:", start)
    if var_pos < 0:
        raise NgspiceError("rawfile has no 'Variables:' section")
    header: dict[str, str] = {}
    for line in text[start:var_pos].splitlines():
        key, _, value = line.partition(":")
        header[key.strip().lower()] = value.strip()
    try:
        nvars = int(header["no. variables"])
    except (KeyError, ValueError):
        raise NgspiceError("rawfile header lacks 'No. Variables'") from None
    flags = header.get("flags", "real").lower()

    var_start = text.find("\n", var_pos + 1) + 1
    val_pos = text.find("\nValues:", var_start) if var_start else -1
    if val_pos < 0:
        if text.find("\nBinary:", var_start) >= 0:
            raise NgspiceError("rawfile is binary, not ASCII")
        raise NgspiceError("rawfile has no 'Values:' section")
    var_lines = text[var_start:val_pos].split("\n")
    if len(var_lines) != nvars:
        raise NgspiceError(f"rawfile lists {len(var_lines)} variables, header says {nvars}")
    names: list[str] = []
    types: list[str] = []
    for line in var_lines:
        fields = line.split()
        if len(fields) < 3:
            raise NgspiceError(f"bad rawfile variable line: {line!r}")
        names.append(fields[1])
        types.append(fields[2])

    data_start = val_pos + len("\nValues:")
    data_end = text.find("\nTitle:", data_start)
    if data_end < 0:
        data_end = len(text)
    block = text[data_start:data_end]
    is_complex = "complex" in flags
    if is_complex:
        block = block.replace(",", " ")
    per_value = 2 if is_complex else 1
    tokens = block.split()
    stride = 1 + per_value * nvars  # point index, then the values
    npoints = len(tokens) // stride
    try:
        flat = np.array(list(map(float, tokens[: npoints * stride])), dtype=np.float64)
    except ValueError as exc:
        raise NgspiceError(f"bad rawfile value: {exc}") from None
    values = flat.reshape(npoints, stride)[:, 1:]
    if is_complex:
        values = values[:, 0::2] + 1j * values[:, 1::2]
    plot = _Plot(name=header.get("plotname", ""), variables=names, types=types, values=values)
    return plot, data_end + 1


def _load_text(path_or_text: str | bytes | os.PathLike[str]) -> str:
    """Return rawfile text from a path, text or bytes."""
    if isinstance(path_or_text, bytes):
        return path_or_text.decode("latin-1")
    if isinstance(path_or_text, str) and "\n" in path_or_text:
        return path_or_text
    try:
        return Path(path_or_text).read_text(errors="replace")
    except OSError as exc:
        raise NgspiceError(f"cannot read rawfile {os.fspath(path_or_text)!r}: {exc}") from exc


def _decode(output: bytes | str | None) -> str:
    """Decode subprocess output leniently."""
    if output is None:
        return ""
    if isinstance(output, str):
        return output
    return output.decode("utf-8", errors="replace")


def _first_failure_line(log: str) -> str | None:
    """Return the first log line containing a failure marker, if any."""
    lowered = log.lower()
    hits = [i for i in (lowered.find(m) for m in _FAILURE_MARKERS) if i >= 0]
    if not hits:
        return None
    first = min(hits)
    line_start = log.rfind("\n", 0, first) + 1
    line_end = log.find("\n", first)
    return log[line_start : line_end if line_end >= 0 else len(log)].strip()


def _tail(log: str, n: int = TAIL_LINES) -> str:
    """Last ``n`` informative lines of ngspice output."""
    lines = [ln for ln in log.splitlines() if ln.strip() and not _NOISE_RE.match(ln)]
    return "\n".join(lines[-n:])


def _failure(summary: str, log: str) -> str:
    """Error message: summary plus the tail of ngspice's output."""
    tail = _tail(log)
    if not tail:
        return f"{summary} (no output from ngspice)"
    return f"{summary}\n--- ngspice output (last {TAIL_LINES} lines) ---\n{tail}"
