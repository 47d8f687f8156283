"""The netlist language, one syntax feature per test (resim/netlist/grammar.lark and friends).

Every test runs twice: with the bulk fast path for simple element lines (``fast=True``) and
with every line read by the grammar (``fast=False``).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

import resim
from resim.api import OverrideError
from resim.circuit import Circuit, DcSweep
from resim.errors import NetlistError
from resim.netlist.parser import parse_file, parse_text


@pytest.fixture(params=[True, False], ids=["fast", "grammar"])
def fast(request) -> bool:
    return request.param


@pytest.fixture
def load(fast):
    def _load(source, **kw) -> Circuit:
        return resim.load_netlist(source, fast=fast, **kw)

    return _load


def elements(c: Circuit, kind: str) -> dict[str, tuple]:
    """``{name: (node names..., value)}`` for one kind."""
    g = c[kind]
    return {
        name: (*(c.nodes[k] for k in row), float(v))
        for name, row, v in zip(g.names, g.nodes.tolist(), g.value.tolist())
    }


def values(c: Circuit, kind: str) -> dict[str, float]:
    return {name: v[-1] for name, v in elements(c, kind).items()}


# ---- lines, comments, continuations ----------------------------------------------------------


def test_title_line_is_always_a_comment(load):
    c = load("R1 a b 1k\nR2 a 0 2k\n")
    assert c.title == "R1 a b 1k"
    assert c["r"].names == ("r2",)
    c = load(".subckt s a b\nR2 a 0 2k\n")  # not even a dot-command is read there
    assert c.title == ".subckt s a b" and c["r"].names == ("r2",)


def test_end_stops_reading(load):
    c = load("t\nR1 a 0 1\n.end\nR2 a 0 2\nthis is not a netlist line {\n")
    assert c["r"].names == ("r1",)
    c = load("t\nR1 a 0 1\n.END\n.subckt unclosed a\n")
    assert c["r"].names == ("r1",)


def test_star_comment_lines(load):
    c = load("t\n* a comment\nR1 a 0 1\n   * an indented comment R9 x y 1\n*R2 a 0 2\n\n")
    assert c["r"].names == ("r1",)
    assert c["r"].line.tolist() == [3]


@pytest.mark.parametrize(
    "line",
    ["R1 a 0 5 ; comment", "R1 a 0 5;comment", "R1 a 0 5 // comment", "R1 a 0 5//comment",
     "R1 a 0 5 $ comment", "R1 a 0 5\t$comment", "R1 a 0 5 $"],
)
def test_inline_comments(load, line):
    c = load(f"t\n{line}\n$ a whole-line comment\n;another\n")
    assert elements(c, "r") == {"r1": ("a", "0", 5.0)}


def test_dollar_inside_a_word_is_part_of_the_name(load):
    c = load("t\nR1 a$b 0 5\nR$2 a$b c$ 6\n")
    assert elements(c, "r") == {"r1": ("a$b", "0", 5.0), "r$2": ("a$b", "c$", 6.0)}


def test_continuation_lines(load):
    c = load("t\nR1 a\n+ b\n+ 5k\nV1\n  + a 0\n+DC 2\nR2 b 0 1\n")
    assert elements(c, "r") == {"r1": ("a", "b", 5e3), "r2": ("b", "0", 1.0)}
    assert elements(c, "v") == {"v1": ("a", "0", 2.0)}
    assert c["r"].line.tolist() == [2, 8]  # an element is where its first line is
    assert c["v"].line.tolist() == [5]


def test_continuation_after_a_comment_line(load):
    c = load("t\nR1 a b\n* the value:\n+ 5\nR2 b 0 1 ; note\n+ ; only a comment\n")
    assert elements(c, "r") == {"r1": ("a", "b", 5.0), "r2": ("b", "0", 1.0)}


def test_continuation_of_a_simple_line(load):
    # the first line is complete on its own (the fast path would take it), the second adds to it
    with pytest.raises(NetlistError, match="unexpected '6'"):
        load("t\nR1 a b 5\n+ 6\n")
    c = load("t\nV1 a 0 5\n+ AC 1\n")
    assert elements(c, "v") == {"v1": ("a", "0", 5.0)}


def test_names_are_case_insensitive(load):
    c = load("t\nR1 IN Out 1\nr2 in OUT 2\nV1 In 0 1\n.PARAM Big = 3\nR3 out 0 {BIG}\n")
    assert c.nodes == ("0", "in", "out")
    assert values(c, "r") == {"r1": 1.0, "r2": 2.0, "r3": 3.0}
    assert c.params == {"big": 3.0}
    with pytest.raises(NetlistError, match="element 'r1' is defined twice"):
        load("t\nR1 a 0 1\nr1 a 0 2\n")


def test_zero_and_gnd_are_ground(load):
    c = load("t\nV1 a 0 1\nR1 a gnd 1\nR2 a GND 2\nR3 0 Gnd 3\n")
    assert c.nodes == ("0", "a")
    assert c["r"].nodes.tolist() == [[1, 0], [1, 0], [0, 0]]
    assert c.nodes[0] == "0"


def test_ground_is_node_zero_even_when_unused():
    c = resim.load_netlist("t\nR1 a b 1\n")
    assert c.nodes == ("0", "a", "b")


def test_whitespace_tabs_blank_lines_and_crlf(load):
    c = load("t\r\n\r\n\tR1\ta   b\t 5 \r\n   \r\nR2 b 0 1\r")
    assert elements(c, "r") == {"r1": ("a", "b", 5.0), "r2": ("b", "0", 1.0)}


# ---- numbers ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "token, value",
    [("1T", 1e12), ("2G", 2e9), ("3Meg", 3e6), ("3MEG", 3e6), ("4K", 4e3), ("4k", 4e3), ("5m", 5e-3),
     ("6u", 6e-6), ("7n", 7e-9), ("8p", 8e-12), ("9f", 9e-15), ("1mil", 25.4e-6),
     ("10kOhm", 1e4), ("1.5e3", 1.5e3), ("-.5", -0.5), ("+2", 2.0), ("3.", 3.0), ("4Ohm", 4.0), ("1e3k", 1e6)],
)
def test_number_suffixes(load, token, value):
    c = load(f"t\nR1 a 0 {token}\nV1 a 0 1\n")  # (V1: node a has two connections, no warning)
    assert c["r"].value[0] == pytest.approx(value, rel=1e-15)
    assert c.warnings == ()


def test_no_atto_suffix_as_ngspice_with_a_warning(load):
    c = load("t\nR1 a 0 2a\nV1 a 0 1\n")
    assert c["r"].value[0] == 2.0  # ngspice 39 reads '2a' as 2 (checked with ngspice -b)
    assert len(c.warnings) == 1 and "<text>:2:8" in c.warnings[0] and "atto" in c.warnings[0]


def test_capital_m_is_milli_with_a_warning(load):
    c = load("t\nR1 a 0 1M\nR2 a 0 1Meg\n")
    assert values(c, "r") == {"r1": 1e-3, "r2": 1e6}
    assert len(c.warnings) == 1
    assert c.warnings[0].startswith("<text>:2:8: warning: '1M' means 1 milli")


# ---- elements -----------------------------------------------------------------------------------


def test_resistor(load):
    c = load("t\nR1 a b 1k\nRload b 0 {2*1k}\n")
    assert elements(c, "r") == {"r1": ("a", "b", 1e3), "rload": ("b", "0", 2e3)}


@pytest.mark.parametrize(
    "spec, value",
    [("5", 5.0), ("DC 5", 5.0), ("dc 5", 5.0), ("dc -5", -5.0), ("{2+3}", 5.0), ("DC {2+3}", 5.0),
     ("DC 5 AC 1", 5.0), ("5 ac 1 90", 5.0), ("AC 1", 0.0), ("", 0.0)],
)
def test_sources_with_optional_dc_and_ignored_ac(load, spec, value):
    c = load(f"t\nV1 a 0 {spec}\nI1 0 a {spec}\nR1 a 0 1\n")
    assert elements(c, "v") == {"v1": ("a", "0", value)}
    assert elements(c, "i") == {"i1": ("0", "a", value)}


def test_diode_with_model(load):
    c = load("t\nD1 a k dmod\nD2 k 0 DMOD 2\n.model dmod D(IS=1e-12)\nV1 a 0 1\n")
    assert elements(c, "d") == {"d1": ("a", "k", 1.0), "d2": ("k", "0", 2.0)}  # value = area
    assert c["d"].ref.tolist() == [0, 0]
    assert c.models[0].name == "dmod"


def test_controlled_sources(load):
    c = load("t\nE1 out 0 in 0 10\nG1 0 out in ref 2m\nV1 in 0 1\nR1 out 0 1\nR2 ref 0 1\n")
    assert elements(c, "e") == {"e1": ("out", "0", "in", "0", 10.0)}
    assert elements(c, "g") == {"g1": ("0", "out", "in", "ref", 2e-3)}


def test_subcircuit_instance(load):
    c = load("t\n.subckt half in out\nR1 in out 1k\nR2 out 0 1k\n.ends\nX1 a b half\nV1 a 0 1\n")
    assert elements(c, "r") == {"r.x1.r1": ("a", "b", 1e3), "r.x1.r2": ("b", "0", 1e3)}
    assert c["r"].line.tolist() == [3, 4]


# ---- models ---------------------------------------------------------------------------------------


def test_shockley_model_and_defaults(load):
    c = load("t\n.model d1 D(IS=2e-15 N=1.5 RS=10)\n.model d2 D\n.model d3 d (is=1n)\n")
    m1, m2, m3 = c.models
    assert (m1.name, m1.family, m1.IS, m1.N, m1.RS) == ("d1", "shockley", 2e-15, 1.5, 10.0)
    assert (m2.family, m2.IS, m2.N, m2.RS) == ("shockley", 1e-14, 1.0, 0.0)
    assert (m3.IS, m3.N, m3.RS) == (1e-9, 1.0, 0.0)


@pytest.mark.parametrize(
    "params, expected",
    [
        ("Ron=0.1 Roff=1Meg Vfwd=0.7", (0.1, 1e6, 0.7)),
        ("(ron=1, vfwd=0.6)", (1.0, math.inf, 0.6)),
        ("Roff=1e9", (0.0, 1e9, 0.0)),
        ("Vfwd=0.3", (0.0, math.inf, 0.3)),
        ("RON=2", (2.0, math.inf, 0.0)),
    ],
)
def test_pwl_model(load, params, expected):
    c = load(f"t\n.model dp D {params}\n")
    (m,) = c.models
    assert m.family == "pwl"
    assert (m.Ron, m.Roff, m.Vfwd) == expected


def test_ideal_pwl_model(load):
    (m,) = load("t\n.model ideal D(Ron=0 Vfwd=0)\n").models
    assert m.family == "pwl" and m.is_ideal and (m.Ron, m.Roff, m.Vfwd) == (0.0, math.inf, 0.0)
    (m,) = load("t\n.model soft D(Ron=1)\n").models
    assert not m.is_ideal


def test_model_parameters_without_dc_effect_and_other_model_types(load):
    c = load("t\n.model d1 D(IS=1e-14 CJO=2p TT=1n)\n.model q1 NPN(BF=100)\n")
    assert [m.name for m in c.models] == ["d1"]
    assert any("model 'q1' of type 'NPN' ignored" in w for w in c.warnings)


# ---- parameters ------------------------------------------------------------------------------


def test_param_expressions(load):
    c = load(
        "t\n"
        ".param a = 2\n"
        ".param b = {a * 3 + 1}\n"
        ".param c = {sqrt(16) + exp(0) + log(1) + abs(-2) + min(3, 4) + max(1, 2, 5) + pow(2, 3)}\n"
        ".param d = {(a + 1) * 2 ** 2 / 4 - -1}\n"
        ".param e2 = 'b - a'\n"
        "R1 n 0 {b}\n"
        "V1 n 0 {c}\n"
    )
    assert c.params == {"a": 2.0, "b": 7.0, "c": 23.0, "d": 4.0, "e2": 5.0}
    assert values(c, "r") == {"r1": 7.0}
    assert values(c, "v") == {"v1": 23.0}


def test_param_unbraced_and_several_per_line(load):
    c = load("t\n.param x = 1k\n.param a = x + 1\n.param p=1 q=2, r = p+q\n.param s = -x\n")
    assert c.params == {"x": 1e3, "a": 1001.0, "p": 1.0, "q": 2.0, "r": 3.0, "s": -1e3}


def test_param_refers_to_earlier_params_only(load):
    with pytest.raises(NetlistError, match="undefined parameter 'b'"):
        load("t\n.param a = {b}\n.param b = 1\n")


def test_expression_values_everywhere(load):
    c = load("t\n.param g = 2\nE1 o 0 i 0 {g*5}\nG1 o 0 i 0 {g/1k}\nD1 i 0 dm {g}\n.model dm D(IS={1e-14*2})\n"
             ".dc V1 0 {g} {g/4}\nV1 i 0 1\nR1 o 0 1\n")
    assert values(c, "e") == {"e1": 10.0}
    assert values(c, "g") == {"g1": 2e-3}
    assert values(c, "d") == {"d1": 2.0}
    assert c.models[0].IS == 2e-14
    assert c.dc == ((DcSweep("v1", 0.0, 2.0, 0.5),),)


# ---- subcircuits ------------------------------------------------------------------------------


SUBCKT_PARAMS = """subcircuit parameters
.param k = 3
.subckt cell a b params: r=1k g={2*r}
R1 a mid {r}
E1 mid 0 a b {g}
.ends cell
X1 in out cell
X2 in out cell r={k*1k}
X3 in out CELL params: g=7 r=2
V1 in 0 1
R9 out 0 1
"""


def test_subckt_params_defaults_and_overrides(load):
    c = load(SUBCKT_PARAMS)
    assert values(c, "r") == {"r9": 1.0, "r.x1.r1": 1e3, "r.x2.r1": 3e3, "r.x3.r1": 2.0}
    # a default may use an earlier one: g = 2*r with each instance's own r
    assert values(c, "e") == {"e.x1.e1": 2e3, "e.x2.e1": 6e3, "e.x3.e1": 7.0}
    assert elements(c, "e")["e.x2.e1"] == ("x2.mid", "0", "in", "out", 6e3)


def test_nested_subcircuits_and_hierarchical_names(load):
    c = load(
        "nested\n"
        ".subckt leaf p q\n"
        "R1 p n3 1\n"
        "R2 n3 q 2\n"
        ".ends leaf\n"
        ".subckt mid a b params: s=1\n"
        "X2 a m leaf\n"
        "R1 m b {s}\n"
        "D1 m 0 dm\n"
        "G1 b 0 m 0 1\n"
        ".ends\n"
        ".model dm D\n"
        "X1 in 0 mid s=5\n"
        "V1 in 0 1\n"
    )
    assert elements(c, "r") == {
        "r.x1.x2.r1": ("in", "x1.x2.n3", 1.0),
        "r.x1.x2.r2": ("x1.x2.n3", "x1.m", 2.0),
        "r.x1.r1": ("x1.m", "0", 5.0),
    }
    assert elements(c, "d") == {"d.x1.d1": ("x1.m", "0", 1.0)}
    assert elements(c, "g") == {"g.x1.g1": ("0", "0", "x1.m", "0", 1.0)}
    assert set(c.nodes) == {"0", "in", "x1.m", "x1.x2.n3"}
    assert c.find_element("R.X1.X2.R1") == ("r", 0)


def test_subckt_params_see_globals_and_body_params(load):
    c = load("t\n.param top = 4\n.subckt s a params: w=1\n.param inner = {w * top}\nR1 a 0 {inner}\n.ends\n"
             "X1 n s w=2\nX2 n s\nV1 n 0 1\n")
    assert values(c, "r") == {"r.x1.r1": 8.0, "r.x2.r1": 4.0}


def test_subckt_ground_stays_global(load):
    c = load("t\n.subckt s a\nR1 a 0 1\nR2 a gnd 2\n.ends\nX1 n s\nV1 n 0 1\n")
    assert elements(c, "r") == {"r.x1.r1": ("n", "0", 1.0), "r.x1.r2": ("n", "0", 2.0)}


def test_subckt_defined_after_use_and_in_any_order(load):
    c = load("t\nX1 a b s\nV1 a 0 1\n.subckt s p q\nR1 p q 1\n.ends\n")
    assert values(c, "r") == {"r.x1.r1": 1.0}


# ---- includes ----------------------------------------------------------------------------------


def test_include_is_relative_to_the_including_file(tmp_path, load):
    (tmp_path / "lib").mkdir()
    (tmp_path / "top.cir").write_text("top\nR1 a 0 1\n.include lib/parts.cir\n.inc \"lib/more.cir\"\nR4 a 0 4\n")
    (tmp_path / "lib" / "parts.cir").write_text("R2 a b 2\n.include deeper.cir\n")  # no title in an include
    (tmp_path / "lib" / "deeper.cir").write_text("* deeper\n.model dm D(N=2)\nD1 b 0 dm\n")
    (tmp_path / "lib" / "more.cir").write_text("R3 b 0 3\n")
    c = load(tmp_path / "top.cir")
    assert values(c, "r") == {"r1": 1.0, "r2": 2.0, "r3": 3.0, "r4": 4.0}
    files = [Path(f).name for f in c.files]
    assert files == ["top.cir", "parts.cir", "deeper.cir", "more.cir"]
    assert [files[i] for i in c["r"].file.tolist()] == ["top.cir", "parts.cir", "more.cir", "top.cir"]
    assert c["r"].line.tolist() == [2, 1, 1, 5]
    assert c.location("d", 0).file.endswith("deeper.cir") and c.location("d", 0).line == 3


def test_include_from_text_is_relative_to_the_working_folder(tmp_path, monkeypatch, load):
    (tmp_path / "parts.cir").write_text("R2 a 0 2\n")
    monkeypatch.chdir(tmp_path)
    c = load("t\nR1 a 0 1\n.include parts.cir\n")
    assert values(c, "r") == {"r1": 1.0, "r2": 2.0}


def test_include_cycle_is_detected(tmp_path, load):
    (tmp_path / "a.cir").write_text("a\n.include b.cir\n")
    (tmp_path / "b.cir").write_text("R1 x 0 1\n.include a.cir\n")
    with pytest.raises(NetlistError, match=r"\.include cycle: a\.cir -> b\.cir -> a\.cir"):
        load(tmp_path / "a.cir")


def test_same_file_may_be_included_twice_when_not_a_cycle(tmp_path, load):
    (tmp_path / "models.cir").write_text(".param p = 1\n")
    (tmp_path / "top.cir").write_text("t\n.include models.cir\n.include models.cir\nR1 a 0 {p}\n")
    assert values(load(tmp_path / "top.cir"), "r") == {"r1": 1.0}


def test_end_in_an_include_ends_only_that_file(tmp_path, load):
    (tmp_path / "inc.cir").write_text("R2 a 0 2\n.end\nR3 a 0 3\n")
    (tmp_path / "top.cir").write_text("t\n.include inc.cir\nR1 a 0 1\n")
    assert values(load(tmp_path / "top.cir"), "r") == {"r2": 2.0, "r1": 1.0}


# ---- analyses and other dot-commands -------------------------------------------------------------


def test_op(load):
    assert load("t\nR1 a 0 1\n.op\n").has_op
    assert not load("t\nR1 a 0 1\n").has_op


def test_dc_is_kept(load):
    c = load("t\nV1 a 0 1\nI1 0 a 1\nR1 a 0 1\n.dc V1 0 5 0.5\n.DC i1 0 1m 0.1m v1 1 2 1\n")
    assert c.dc == (
        (DcSweep("v1", 0.0, 5.0, 0.5),),
        (DcSweep("i1", 0.0, 1e-3, 1e-4), DcSweep("v1", 1.0, 2.0, 1.0)),
    )


def test_unknown_dot_commands_warn_and_are_ignored(load):
    c = load("t\nR1 a 0 1\n.tran 1n 1u\n.options reltol=1e-4\n.print dc v(a)\n.save all\nV1 a 0 1\n")
    assert values(c, "r") == {"r1": 1.0}
    assert c.warnings == (
        "<text>:3:1: warning: '.tran' is not supported and was ignored",  # .options reltol: no DC effect, silent
        "<text>:5:1: warning: '.print' is not supported and was ignored",
        "<text>:6:1: warning: '.save' is not supported and was ignored",
    )


def test_control_block_is_skipped_with_a_warning(load):
    c = load("t\nR1 a 0 1\n.control\nop\nR2 a 0 2\nlet x = 1 {\n.endc\nR3 a 0 3\n")
    assert values(c, "r") == {"r1": 1.0, "r3": 3.0}
    assert len(c.warnings) == 1
    assert c.warnings[0].startswith("<text>:3:1: warning: .control block ignored")


def test_unclosed_control_block_skips_the_rest(load):
    c = load("t\nR1 a 0 1\n.control\nR2 a 0 2\n")
    assert values(c, "r") == {"r1": 1.0}


# ---- overrides (--set) --------------------------------------------------------------------------


def test_overrides_of_params_and_elements(load):
    text = "t\n.param rv = 1k\n.param twice = {2*rv}\nR1 a 0 5\nR2 a 0 {rv}\nR3 a 0 {twice}\nV1 a 0 1\n"
    c = load(text, overrides={"rv": 2e3, "R1": 5})
    assert values(c, "r") == {"r1": 5.0, "r2": 2e3, "r3": 4e3}  # dependent parameters follow
    assert c.params == {"rv": 2e3, "twice": 4e3}
    c = load(text, overrides={"RV": 3, "r1": 7, "V1": 2})
    assert values(c, "r") == {"r1": 7.0, "r2": 3.0, "r3": 6.0}
    assert values(c, "v") == {"v1": 2.0}


def test_override_of_a_subcircuit_element_and_unknown_names(load):
    c = load(SUBCKT_PARAMS, overrides={"r.x2.r1": 9})
    assert values(c, "r")["r.x2.r1"] == 9.0
    with pytest.raises(OverrideError, match="no parameter or element called 'nope'"):
        load(SUBCKT_PARAMS, overrides={"nope": 1})


# ---- the parser layer -------------------------------------------------------------------------


def test_parse_text_and_parse_file(tmp_path, fast):
    text = "t\nR1 a b 1\n.param p = 2\nR2 b 0 {p}\n.subckt s x\nR1 x 0 1\n.ends\n.op\n"
    parsed = parse_text(text, fast=fast)
    assert parsed.title == "t" and parsed.has_op
    assert parsed.columns["r"].names == ["r1", "r2"]
    assert math.isnan(parsed.columns["r"].arrays().values[1])  # an expression is evaluated later
    assert len(parsed.fixups) == 1 and [p.name for p in parsed.params] == ["p"]
    assert list(parsed.subckts) == ["s"] and parsed.subckts["s"].ports == ("x",)
    path = tmp_path / "n.cir"
    path.write_text(text)
    from_file = parse_file(path, fast=fast)
    assert from_file.columns["r"].names == ["r1", "r2"] and from_file.files == [str(path)]


def test_load_netlist_from_path_or_string_path(tmp_path, load):
    path = tmp_path / "d.cir"
    path.write_text("divider\nV1 in 0 10\nR1 in out 1k\nR2 out 0 1k\n")
    for source in (path, str(path)):
        c = load(source)
        assert c.title == "divider" and c.files == (str(path),)
        assert np.array_equal(c["r"].value, [1e3, 1e3])


def test_simple_lines_never_import_lark():
    """Lark is imported for the first line the bulk fast path leaves to the grammar, not before
    (a fresh interpreter: this one has imported it already)."""
    import subprocess
    import sys

    script = (
        "import sys, resim\n"
        "c = resim.load_netlist('t\\n* comment\\n\\nV1 a 0 1\\nR1 a b 2\\nI1 b 0 1e-3\\n')\n"
        "assert c.n_elements == 3\n"
        "print('lark' in sys.modules)\n"
        "resim.load_netlist('t\\nV1 a 0 1\\nR1 a 0 {1}\\n')\n"
        "print('lark' in sys.modules)\n"
    )
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["False", "True"]
