"""Results to text: a rich table, JSON (documented in docs/json.md), and CSV."""

from __future__ import annotations

import csv
import io
import json
import math
import shutil
from collections.abc import Iterator
from typing import TextIO

import numpy as np

from .elements import ELEMENTS
from .errors import printable
from .result import Certificate, Result
from .select import ALL, Selection


def _num(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def to_dict(result: Result, *, with_maps: bool = True, selection: Selection = ALL) -> dict:
    """The JSON form of a result (schema in ``docs/json.md``); ``with_maps=False`` leaves
    out the (large) ``nodes`` and ``elements`` maps, ``selection`` (:mod:`resim.select`)
    keeps only some of their entries."""
    c = result.circuit
    summary = {
        "title": c.title,
        "method": result.method,
        "method_reason": result.method_reason,
        "converged": True,
        "power": {"dissipated_W": result.power_dissipated, "delivered_W": result.power_delivered},
        "certificate": {k: _num(v) for k, v in result.certificate.as_dict().items()},
        "timings": {f"{k}_s": v for k, v in result.timings.items()},
        "warnings": [*c.warnings, *result.certificate.warnings()],
    }
    if not with_maps:
        return summary
    if not selection.everything:
        return {**summary, **_selected_maps(result, selection)}
    node_names = np.array(c.nodes, dtype=object)
    elements: dict[str, dict] = {}
    for kind, group in c.groups.items():
        t = ELEMENTS[kind].json_type
        terminals = node_names[group.nodes].tolist()
        currents = result.currents[kind].tolist()
        if kind == "d":
            elements.update(
                (n, {"type": t, "nodes": nd, "current": i, "state": s})
                for n, nd, i, s in zip(group.names, terminals, currents, result.diode_states)
            )
        else:
            elements.update(
                (n, {"type": t, "nodes": nd, "current": i}) for n, nd, i in zip(group.names, terminals, currents)
            )
    return {**summary, "nodes": result.node_voltages(), "elements": elements}


def _selected_maps(result: Result, selection: Selection) -> dict:
    """The ``nodes`` and ``elements`` maps of the entries ``selection`` keeps."""
    c = result.circuit
    nodes = {c.nodes[k]: float(result.voltages[k]) for k in selection.node_indices(c).tolist()}
    elements: dict[str, dict] = {}
    for kind, group in c.groups.items():
        t = ELEMENTS[kind].json_type
        for k in selection.element_indices(c, kind).tolist():
            entry = {"type": t, "nodes": [c.nodes[n] for n in group.nodes[k].tolist()],
                     "current": float(result.currents[kind][k])}
            if kind == "d":
                entry["state"] = result.diode_states[k]
            elements[group.names[k]] = entry
    return {"nodes": nodes, "elements": elements}


def to_json(result: Result, selection: Selection = ALL) -> str:
    """JSON text of :func:`to_dict` (:func:`json_chunks` joined)."""
    return "".join(json_chunks(result, selection))


CHUNK = 100_000  # entries per piece of streamed JSON or CSV


def json_chunks(result: Result, selection: Selection = ALL) -> Iterator[str]:
    """The JSON of :func:`to_dict` in pieces of :data:`CHUNK` entries, so that a solution of
    millions of elements is written without being held whole; indented for small circuits
    and small selections.

    Large results (ibmpg1: 85,000 entries) are written by string formatting instead of
    ``json.dumps`` on a dict per element, which is about 2x faster and gives the same
    document (``tests/test_format.py`` checks that ``json.loads`` of both agree).
    """
    c = result.circuit
    if not selection.everything:
        doc = to_dict(result, selection=selection)
        small = len(doc["nodes"]) + len(doc["elements"]) <= 2000
        yield json.dumps(doc, indent=2 if small else None) + "\n"
        return
    if c.n_elements + c.n_nodes <= 2000:
        yield json.dumps(to_dict(result), indent=2) + "\n"
        return
    quote = _quoter(c)
    q = quote or (lambda n: f'"{n}"')
    head = json.dumps(to_dict(result, with_maps=False))[:-1]
    yield f'{head}, "nodes": {{'
    voltages = result.voltages
    for a in range(1, c.n_nodes, CHUNK):
        b = min(a + CHUNK, c.n_nodes)
        yield ("" if a == 1 else ", ") + ", ".join(
            f"{q(n)}: {v!r}" for n, v in zip(c.nodes[a:b], voltages[a:b].tolist()))
    yield '}, "elements": {'
    node_names = [q(n) for n in c.nodes]
    first = True
    for kind, group in c.groups.items():
        t = ELEMENTS[kind].json_type
        for a in range(0, len(group), CHUNK):
            b = min(a + CHUNK, len(group))
            cur = result.currents[kind][a:b].tolist()
            nd = group.nodes[a:b].tolist()
            names = group.names[a:b] if quote else [f'"{n}"' for n in group.names[a:b]]
            quoted = [quote(n) for n in names] if quote else names
            if kind == "d":
                parts = [f'{n}: {{"type": "{t}", "nodes": [{node_names[x]}, {node_names[y]}], "current": {i!r}, '
                         f'"state": "{s}"}}' for n, (x, y), i, s in zip(quoted, nd, cur, result.diode_states[a:b])]
            elif group.nodes.shape[1] == 2:
                parts = [f'{n}: {{"type": "{t}", "nodes": [{node_names[x]}, {node_names[y]}], "current": {i!r}}}'
                         for n, (x, y), i in zip(quoted, nd, cur)]
            else:
                parts = [f'{n}: {{"type": "{t}", "nodes": [{", ".join(node_names[x] for x in ns)}], '
                         f'"current": {i!r}}}' for n, ns, i in zip(quoted, nd, cur)]
            yield ("" if first else ", ") + ", ".join(parts)
            first = False
    yield "}}\n"


def _quoter(c):
    """A JSON string quoter: plain f-string quoting when no name needs escaping (None
    then), else ``json.dumps``. Names kept in the netlist's file are checked as bytes,
    without decoding them (they never hold a NUL: their padding in ``as_bytes`` is one)."""
    import re

    special = re.compile(r'["\\\x00-\x1f\x7f-\uffff]')
    if any(special.search(n) for n in c.nodes):
        return json.dumps
    for group in c.groups.values():
        for part in getattr(group.names, "parts", [group.names]):
            if hasattr(part, "as_bytes"):  # a LineNames block
                raw = part.as_bytes(int(part.length.max()) if len(part) else 1).view(np.uint8)
                if np.any((raw == 34) | (raw == 92) | ((raw < 32) & (raw > 0)) | (raw >= 127)):
                    return json.dumps
            elif any(special.search(n) for n in part):
                return json.dumps
    return None


def to_csv(result: Result, selection: Selection = ALL) -> str:
    """CSV text of :func:`csv_chunks` joined."""
    return "".join(csv_chunks(result, selection))


def csv_chunks(result: Result, selection: Selection = ALL) -> Iterator[str]:
    """One row per quantity: ``kind,name,quantity,value``, in pieces of :data:`CHUNK` rows
    (a solution of millions of elements is never held whole). Names with control
    characters are escaped as in error messages (:func:`~resim.errors.printable`:
    ``a\\x1b[31m``)."""
    c = result.circuit
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")

    def flush() -> str:
        text = buf.getvalue()
        buf.seek(0)
        buf.truncate()
        return text

    w.writerow(["kind", "name", "quantity", "value"])
    for a in range(0, len(nodes := selection.node_indices(c)), CHUNK):
        rows = nodes[a:a + CHUNK].tolist()
        w.writerows(["node", printable(c.nodes[k]), "voltage_V", repr(float(result.voltages[k]))] for k in rows)
        yield flush()
    for kind, group in c.groups.items():
        t = ELEMENTS[kind].json_type
        picked = selection.element_indices(c, kind)
        for a in range(0, len(picked), CHUNK):
            rows = picked[a:a + CHUNK]
            names = group.names[int(rows[0]):int(rows[-1]) + 1] if selection.elements is None else None
            for j, (k, i) in enumerate(zip(rows.tolist(), result.currents[kind][rows].tolist())):
                name = printable(names[j] if names is not None else group.names[k])
                w.writerow([t, name, "current_A", repr(i)])
                if kind == "d":
                    w.writerow([t, name, "state", result.diode_states[k]])
            yield flush()
    w.writerow(["circuit", "", "power_dissipated_W", repr(result.power_dissipated)])
    for k, v in result.certificate.as_dict().items():
        w.writerow(["certificate", "", k, repr(v)])
    for k, v in result.timings.items():
        w.writerow(["timing", "", f"{k}_s", repr(v)])
    yield flush()


TABLE_ROWS = 2000  # rows shown per table of the report; rich takes ~0.5 ms a row, so more are counted


def to_table(result: Result, file: TextIO) -> None:
    """Print :func:`table_text` to the text stream ``file`` (for a terminal if it is one)."""
    file.write(table_text(result, terminal=file.isatty()))


def table_text(result: Result, *, terminal: bool = False, selection: Selection = ALL) -> str:
    """A human-readable report made with rich: for a terminal (its width, bold headings), or
    plain text 120 columns wide. A table longer than :data:`TABLE_ROWS` rows shows its first
    :data:`TABLE_ROWS` and a line saying how many more there are and where to find them.
    Titles and names are shown as they are (``a[/b]`` is no rich markup), but for control
    characters, escaped as in error messages (:func:`~resim.errors.printable`)."""
    from rich.console import Console
    from rich.text import Text

    buf = io.StringIO()
    width = shutil.get_terminal_size().columns if terminal else 120
    # markup=False: a title or name such as "a[/b]" is text, not a (broken) rich style tag
    console = Console(file=buf, highlight=False, soft_wrap=False, force_terminal=terminal, width=width, markup=False)
    c = result.circuit
    console.print(Text.assemble((printable(c.title), "bold"), f"  (method: {result.method}; {result.method_reason})"))
    d = to_dict(result, selection=selection)
    nodes = [(printable(name), f"{v:.9g}") for name, v in d["nodes"].items()]
    if nodes or selection.everything:  # (a selection of elements alone shows no empty node table)
        _print_table(console, "Node voltages", "nodes", [("node", "left"), ("voltage (V)", "right")], nodes)
    elements = [(printable(name), e["type"], printable(" ".join(e["nodes"])), f"{e['current']:.9g}",
                 e.get("state", "")) for name, e in d["elements"].items()]
    columns = [("element", "left"), ("type", "left"), ("nodes", "left"), ("current (A)", "right"), ("state", "left")]
    if elements or selection.everything:
        _print_table(console, "Elements", "elements", columns, elements)
    cert = result.certificate
    console.print(
        f"power dissipated {result.power_dissipated:.9g} W (delivered by sources {result.power_delivered:.9g} W)\n"
        f"certificate: KCL residual {cert.kcl:.3g} A{_relative_kcl(cert)}, "
        f"constraint violation {cert.constraint:.3g} V, "
        f"complementarity {cert.complementarity:.3g} W, dual violation {cert.dual:.3g} A\n"
        "timings: " + ", ".join(f"{k} {v * 1e3:.1f} ms" for k, v in result.timings.items())
    )
    return buf.getvalue()


def _relative_kcl(cert: Certificate) -> str:
    """The certificate line's note: the largest KCL residual relative to its node's currents."""
    where = f" at node {printable(cert.kcl_relative_node)}" if cert.kcl_relative else ""
    return f" (relative to its node's currents {cert.kcl_relative:.3g}{where})"


def _print_table(console, title: str, what: str, columns: list[tuple[str, str]], rows: list[tuple[str, ...]]) -> None:
    """One rich table of at most :data:`TABLE_ROWS` ``rows``, and a line counting those left out."""
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for name, justify in columns:
        table.add_column(name, justify=justify)
    for row in rows[:TABLE_ROWS]:
        table.add_row(*row)
    console.print(table)
    if len(rows) > TABLE_ROWS:
        console.print(f"... {len(rows) - TABLE_ROWS:,} more {what} not shown (showing the first {TABLE_ROWS:,} of "
                      f"{len(rows):,}); --format csv or --format json gives all of them")


def to_npz(result: Result, selection: Selection = ALL) -> bytes:
    """The solution as a NumPy ``.npz`` archive (``numpy.load``), for results too large for
    JSON: ``summary`` (the JSON of :func:`to_dict` without its maps), ``node_names`` and
    ``voltages`` (ground, ``0``, first when every node is written), and for each element
    kind with elements written, ``<kind>_names``, ``<kind>_current`` (A, SPICE signs),
    ``d_state`` (1 on, 0 off) and, when every node is written, ``<kind>_terminals`` (indices
    into ``node_names``). Names are UTF-8 bytes (``.astype(str)`` or ``.decode()`` reads them)."""
    c = result.circuit
    arrays: dict[str, np.ndarray] = {"summary": np.array(json.dumps(to_dict(result, with_maps=False)).encode())}
    nodes = np.arange(c.n_nodes) if selection.nodes is None else selection.nodes
    arrays["node_names"] = _name_bytes([c.nodes[k] for k in nodes.tolist()])
    arrays["voltages"] = np.asarray(result.voltages, np.float64)[nodes]
    for kind, group in c.groups.items():
        rows = selection.element_indices(c, kind)
        if not len(rows):
            continue
        everything = selection.elements is None
        arrays[f"{kind}_names"] = _name_bytes(group.names if everything else [group.names[k] for k in rows.tolist()])
        arrays[f"{kind}_current"] = result.currents[kind] if everything else result.currents[kind][rows]
        if kind == "d":
            states = np.array([s == "on" for s in result.diode_states], np.uint8)
            arrays["d_state"] = states if everything else states[rows]
        if selection.nodes is None:
            arrays[f"{kind}_terminals"] = (group.nodes if everything else group.nodes[rows]).astype(np.int32)
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def _name_bytes(names) -> np.ndarray:
    """Names as a fixed-width bytes array (UTF-8); names kept in the netlist's file
    (:class:`~resim.netlist.names.Names`) are gathered from it without a string each."""
    if hasattr(names, "as_bytes"):
        return names.as_bytes()
    encoded = [n.encode("utf-8", "surrogatepass") for n in names]
    return np.array(encoded, dtype=f"S{max((len(e) for e in encoded), default=1) or 1}")
