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
