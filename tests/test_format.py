"""The fast JSON writer for large results must produce the same document as json.dumps."""

import json

import resim
from resim import format as fmt


def _big_netlist(n: int = 1200) -> str:
    lines = ["big ladder with a diode", "V1 n0 0 1", ".model dm D(IS=1e-14)", "D1 n5 0 dm"]
    for k in range(n):
        lines.append(f"R{k} n{k} n{k + 1} 1k")
        lines.append(f"Rg{k} n{k + 1} 0 10k")
    return "\n".join(lines) + "\n"


def test_fast_json_equals_dict_form():
    result = resim.solve(resim.load_netlist(_big_netlist()))
    assert result.circuit.n_elements > 2000  # the string-formatting path is taken
    fast = json.loads(fmt.to_json(result))
    slow = json.loads(json.dumps(fmt.to_dict(result)))
    assert fast == slow
    assert fast["elements"]["d1"]["state"] in ("on", "off")


def test_small_json_is_indented_and_complete():
    result = resim.solve(resim.load_netlist("t\nV1 a 0 1\nR1 a 0 2\n"))
    text = fmt.to_json(result)
    assert text.startswith("{\n  ")
    d = json.loads(text)
    assert d["nodes"] == {"a": 1.0}
    assert d["elements"]["r1"]["current"] == 0.5
    assert set(d) >= {"nodes", "elements", "certificate", "timings", "power"}


def test_streamed_json_and_csv_are_the_whole_documents_in_any_pieces(monkeypatch):
    """json_chunks/csv_chunks write a large solution piece by piece: in pieces of 7 entries
    or 100,000, the same JSON document (that of to_dict) and the same CSV rows."""
    import csv
    import io

    result = resim.solve(resim.load_netlist(_big_netlist()))
    whole_json, whole_csv = fmt.to_json(result), fmt.to_csv(result)
    assert json.loads(whole_json) == json.loads(json.dumps(fmt.to_dict(result)))
    monkeypatch.setattr(fmt, "CHUNK", 7)
    pieces = list(fmt.json_chunks(result))
    assert len(pieces) > 300 and "".join(pieces) == whole_json
    pieces = list(fmt.csv_chunks(result))
    assert len(pieces) > 300 and "".join(pieces) == whole_csv
    rows = list(csv.reader(io.StringIO(whole_csv)))
    d = fmt.to_dict(result)
    assert len([r for r in rows if r[2] == "current_A"]) == len(d["elements"])
    assert {r[1]: float(r[3]) for r in rows if r[0] == "node"} == d["nodes"]


def test_large_json_escapes_a_name_the_grammar_read_beside_the_fast_paths():
    """A NUL in one name read by the grammar, among 2,100 names the fast path keeps in the
    file: still valid JSON (the bytes check of the file's names must not hide it)."""
    lines = ["t", "V1 n0 0 1"] + [f"R{k} n{k} n{k + 1} 1000" for k in range(2100)] + ["R\x00z n2100 0 1k"]
    result = resim.solve(resim.load_netlist("\n".join(lines) + "\n"))
    assert result.circuit.n_elements > 2000 and result.circuit["r"].names.lazy  # the fast path's names
    assert json.loads(fmt.to_json(result))["elements"]["r\x00z"]["type"] == "R"
