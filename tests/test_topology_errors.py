"""Ill-posed circuits: each is refused with a typed error whose message starts with the
``file:line:col`` of a real netlist file, naming the offending line.

The netlists are written to ``tmp_path`` so that locations name files that exist.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import resim
from resim.errors import NetlistError, NoSolutionError, TopologyError

# (netlist, error class, line the location must name, words the message must contain)
CASES = {
    "floating_node": (
        """floating subnetwork
V1 a 0 1
R1 a 0 1k
R2 b c 1k
R3 c b 2k
.end
""",
        TopologyError, {4, 5}, ["b", "c", "no DC path to ground"],
    ),
    "current_source_cut_set": (
        """current source into a cut set
V1 a 0 1
R1 a 0 1k
I1 0 b 1m
R2 b c 1k
.end
""",
        TopologyError, {4}, ["i1", "b", "c"],
    ),
    "current_sources_in_series": (
        """two current sources in series: node m sees nothing else
V1 a 0 1
R1 a 0 1k
I1 a m 1m
I2 m 0 2m
.end
""",
        TopologyError, {4, 5}, ["i1", "i2", "m"],
    ),
    "voltage_loop_disagrees": (
        """three sources around a loop summing to 1 V, not 0
V1 a 0 1
V2 b a 1
R1 a 0 1k
V3 b 0 3
.end
""",
        TopologyError, {2, 3, 5}, ["v1", "v2", "v3", "loop"],
    ),
    "parallel_sources_disagree": (
        """two sources in parallel
V1 a 0 5
R1 a 0 1k
V2 0 a 5
.end
""",
        TopologyError, {2, 4}, ["v1", "v2", "loop"],
    ),
    "undefined_model": (
        """diode with no model
V1 a 0 1
R1 a b 1k
D1 b 0 nomodel
.end
""",
        NetlistError, {4}, ["nomodel"],
    ),
    "undefined_subcircuit": (
        """instance of nothing
V1 a 0 1
R1 a b 1k
X1 b 0 nosuch
.end
""",
        NetlistError, {4}, ["nosuch"],
    ),
    "ideal_diode_across_source": (
        """an ideal diode forward-biased across a voltage source
.model ideal D(Ron=0 Vfwd=0)
V1 a 0 1
R1 a 0 1k
D1 a 0 ideal
.end
""",
        NoSolutionError, {5}, ["d1"],
    ),
    "ideal_diode_vfwd_across_sources": (
        """two sources 1 V apart across an ideal diode with Vfwd = 0.7
V1 a 0 3
V2 c 0 2
Ra a 0 1k
Rc c 0 1k
D1 a c clamp
.model clamp D(Ron=0 Vfwd=0.7)
.end
""",
        NoSolutionError, {6}, ["d1"],
    ),
    "zero_volt_source_loop": (
        """a loop of zero-volt sources (ammeters in a ring)
V1 in 0 1
R1 in a 1k
Va a b 0
Vb b c 0
Vc c a 0
R2 b 0 1k
.end
""",
        TopologyError, {4, 5, 6}, ["loop"],
    ),
    "zero_volt_source_and_inductor_loop": (
        """a zero-volt source in parallel with an inductor (a short at DC)
V1 in 0 1
R1 in a 1k
Vs a b 0
L0 a b 1m
R2 b 0 1k
.end
""",
        TopologyError, {4, 5}, ["loop"],
    ),
}


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / f"{name}.cir"
    path.write_text(text)
    return path


@pytest.mark.parametrize("name", sorted(CASES))
def test_error_names_file_line_col(tmp_path, name):
    text, cls, lines, words = CASES[name]
    path = write(tmp_path, name, text)
    with pytest.raises(resim.ResimError) as info:
        resim.solve(resim.load_netlist(path))
    err = info.value
    assert type(err) is cls, err.render()
    loc = err.location
    assert loc is not None, f"{name}: no location in {err.render()!r}"
    assert Path(loc.file) == path
    assert loc.line in lines, err.render()
    assert loc.column >= 1
    rendered = err.render()
    assert rendered.startswith(f"{path}:{loc.line}:{loc.column}: "), rendered
    assert str(err) == rendered
    for word in words:  # whole words of the message itself (the path could hold anything)
        assert re.search(rf"(?<![\w.]){re.escape(word.lower())}(?![\w.])", err.message.lower()), (word, rendered)
    # the exit code the CLI will use
    assert err.exit_code == {NetlistError: 3, TopologyError: 4, NoSolutionError: 5}[cls]


@pytest.mark.parametrize("name", ["undefined_model", "undefined_subcircuit"])
def test_netlist_errors_show_the_line_and_a_caret(tmp_path, name):
    text, *_ = CASES[name]
    path = write(tmp_path, name, text)
    with pytest.raises(NetlistError) as info:
        resim.load_netlist(path)
    rendered = info.value.render().splitlines()
    src = text.splitlines()[info.value.location.line - 1]
    assert rendered[1].strip() == src.strip()
    assert rendered[2].strip() == "^"


def test_error_inside_included_file_names_that_file(tmp_path):
    """A floating node written in an included file: the location is the included file."""
    inc = write(tmp_path, "part", "* part\nR9 x y 1k\n")
    path = write(tmp_path, "top", f"top\nV1 a 0 1\nR1 a 0 1k\n.include {inc}\n.end\n")
    with pytest.raises(TopologyError) as info:
        resim.solve(resim.load_netlist(path))
    assert Path(info.value.location.file) == inc
    assert info.value.location.line == 2


def test_consistent_parallel_sources_still_refused(tmp_path):
    """Equal sources in parallel agree, but the current split between them is undetermined."""
    path = write(tmp_path, "par", "parallel equal\nV1 a 0 5\nV2 a 0 5\nR1 a 0 1k\n.end\n")
    with pytest.raises(TopologyError) as info:
        resim.solve(resim.load_netlist(path))
    assert info.value.location.line == 3
    assert "loop" in info.value.render()


def test_reverse_ideal_diode_across_source_is_fine(tmp_path):
    """The same diode reversed blocks: not an error, zero current."""
    path = write(tmp_path, "ok", "reverse diode\nV1 a 0 1\nR1 a 0 1k\nD1 0 a ideal\n.model ideal D(Ron=0 Vfwd=0)\n.end\n")
    r = resim.solve(resim.load_netlist(path))
    assert r.diode_states == ("off",)
    assert r.current("D1") == 0.0


def test_parallel_conducting_ideal_diodes_are_called_undetermined_not_unsolvable(tmp_path):
    """Two ideal diodes in parallel, both forced to conduct: a solution exists (v = 0) but
    the split of the current does not; the message must say so, not "no solution"."""
    path = tmp_path / "parallel.cir"
    path.write_text("parallel ideal diodes\nVs s 0 -3\nRs s n1 1\nD0 0 n1 ideal\nD1 0 n1 ideal\n"
                    ".model ideal D(Ron=0)\n")
    with pytest.raises(TopologyError, match="d0 and d1 conduct between the same two nodes") as info:
        resim.solve(resim.load_netlist(path))
    assert str(info.value.location) == f"{path}:5:1"
