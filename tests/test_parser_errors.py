"""Every netlist error: its message, its exact file:line:column, the caret display, a hint.

Netlists are real files (``tmp_path``) so that the reported file name is the user's, several
lines long so that the line number matters, and many errors sit on a ``+`` continuation line
so that logical columns are mapped back to the physical line the user wrote.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import resim
from resim.errors import NetlistError


@pytest.fixture(params=[True, False], ids=["fast", "grammar"])
def fast(request) -> bool:
    return request.param


def check(err: NetlistError, path: Path, line: int, column: int, message: str, at: str = "") -> None:
    """``err`` is ``message`` at ``path:line:column``, renders that line with a caret there, has a hint.

    ``at``: the text the caret must point at.
    """
    assert err.message == message
    assert str(err.location) == f"{path}:{line}:{column}"
    source = path.read_text().split("\n")[line - 1]
    assert source[column - 1 :].startswith(at), f"caret at {source[column - 1:]!r}, expected {at!r}"
    rendered = err.render().split("\n")
    assert rendered[0] == f"{path}:{line}:{column}: {message}"
    assert rendered[1] == "  " + source.expandtabs(1)
    assert rendered[2] == "  " + " " * (column - 1) + "^"
    assert err.hint and rendered[3] == f"hint: {err.hint}"
    assert len(rendered) == 4
    assert str(err) == err.render()
    assert err.exit_code == 3


def error_of(tmp_path: Path, text: str, fast: bool, name: str = "net.cir") -> tuple[NetlistError, Path]:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(NetlistError) as info:
        resim.load_netlist(path, fast=fast)
    return info.value, path


# ---- syntax --------------------------------------------------------------------------------------

EXPECT_VALUE = "'{expression}', a number or a quoted expression"


def test_bad_value(tmp_path, fast):
    err, path = error_of(tmp_path, "bad value\nV1 in 0 1\nR1 in out 1k\nR2 out\n+ 0\n+   abc\n", fast)
    check(err, path, 6, 5, "resistor 'r2': undefined resistor model 'abc'", at="abc")  # a word: a model's name
    assert ".model abc R(...)" in err.hint and "or give a resistance" in err.hint


def test_bad_value_after_dc(tmp_path, fast):
    """A bare name after DC is a parameter's value (ngspice reads `V1 1 0 DC A`): undefined here."""
    err, path = error_of(tmp_path, "bad value\nR1 in 0 1k\n\tV1 in 0 DC x5\n", fast)
    check(err, path, 3, 13, "value of 'v1': undefined parameter 'x5'", at="x5")


def test_bad_expression_in_braces(tmp_path, fast):
    err, path = error_of(tmp_path, "bad expression\nV1 in 0 1\nR1 in 0\n+ {1 + (2}\n", fast)
    check(err, path, 4, 10, "resistor 'r1': unexpected '}'; expected ')'", at="}")


def test_missing_node(tmp_path, fast):
    err, path = error_of(tmp_path, "missing node\nV1 in 0 1\n.model dm D\nD1 in\n", fast)
    check(err, path, 4, 6, "diode 'd1': line ends early; expected a node name")
    assert "Dname anode cathode model" in err.hint


def test_line_ends_early_on_a_continuation(tmp_path, fast):
    err, path = error_of(tmp_path, "ends early\nV1 in 0 1\nE2 in 0\n+ out\nR3 out 0 1\n", fast)
    check(err, path, 4, 6, "voltage-controlled voltage source 'e2': line ends early; expected a name")


def test_extra_token(tmp_path, fast):
    err, path = error_of(tmp_path, "extra\nV1 in 0 1\nE1 out 0\n+ in 0 10 20\n", fast)
    check(err, path, 4, 11, "voltage-controlled voltage source 'e1': unexpected '20'; expected the end of the line", at="20")


def test_resistor_reads_a_word_as_its_model(tmp_path, fast):
    err, path = error_of(tmp_path, "dc on R\nV1 a 0 1\nR1 a b dc 5\n", fast)
    check(err, path, 3, 8, "resistor 'r1': undefined resistor model 'dc'", at="dc")


def test_resistor_takes_one_value(tmp_path, fast):
    err, path = error_of(tmp_path, "two values\nV1 a 0 1\nR1 a b 5\n+ rmod 6\n", fast)
    check(err, path, 4, 8, "resistor 'r1': unexpected '6'; expected a model name or name=value", at="6")


@pytest.mark.parametrize("card, what", [("Q1 c b e qmod", "a bipolar transistor (Q)"), ("M1 d g s b nmos", "a MOSFET (M)"),
                                        ("B1 out 0 V=1", "a behavioural source (B)"),
                                        ("S1 out 0 a b smod", "a voltage-controlled switch (S)")])
def test_refused_element_names_its_construct(tmp_path, fast, card, what):
    err, path = error_of(tmp_path, f"unsupported\nV1 in 0 1\nR1 in 0 1\n  {card}\n", fast)
    word = card.split()[0]
    check(err, path, 4, 3, f"'{word}': {what} is not supported", at=word)
    assert "resim simulates DC networks of resistors" in err.hint


def test_unknown_instance_parameter_on_an_element(tmp_path, fast):
    err, path = error_of(tmp_path, "instance parameter\nV1 in 0 1\nR1 in 0 5\n+ m=2 q=3\n", fast)
    check(err, path, 4, 7, "resistor 'r1': unknown parameter 'q'", at="q=3")
    assert err.hint.startswith("resistor parameters: r resistance l w")


# ---- expressions ---------------------------------------------------------------------------------


def test_undefined_parameter(tmp_path, fast):
    err, path = error_of(tmp_path, "undefined\n.param a = 1\nV1 in 0 1\nR1 in 0\n+ {a + bb}\n", fast)
    check(err, path, 5, 8, "value of 'r1': undefined parameter 'bb'", at="bb")
    assert err.hint == "define it with .param before it is used"


def test_undefined_parameter_in_a_param_line(tmp_path, fast):
    err, path = error_of(tmp_path, "undefined\n.param a = 1\n.param b = 2,\n+ c = {a * zz}\n", fast)
    check(err, path, 4, 12, "parameter 'c': undefined parameter 'zz'", at="zz")


def test_unknown_function(tmp_path, fast):
    err, path = error_of(tmp_path, "unknown function\nV1 in 0 1\nR1 in 0\n+   {2 * sqrr(4)}\n", fast)
    check(err, path, 4, 10, "value of 'r1': unknown function 'sqrr'", at="sqrr(")
    assert "sqrt" in err.hint and "pwl(t=0)" not in err.hint


def test_undefined_parameter_in_a_subcircuit_body(tmp_path, fast):
    text = "body\n.subckt s a\nR1 a 0 {w}\n.ends\nV1 n 0 1\nX1 n s\n"
    err, path = error_of(tmp_path, text, fast)
    check(err, path, 3, 9, "value of 'r1' in 'x1': undefined parameter 'w'", at="w}")


# ---- models and subcircuits -----------------------------------------------------------------------


def test_undefined_model(tmp_path, fast):
    err, path = error_of(tmp_path, "undefined model\n.model dx D\nV1 in 0 1\n  D1 in 0 nomodel\n", fast)
    check(err, path, 4, 3, "diode 'd1': undefined model 'nomodel'", at="D1")
    assert "known diode models: dx" in err.hint


def test_undefined_subcircuit(tmp_path, fast):
    err, path = error_of(tmp_path, "undefined subckt\nV1 in 0 1\nX1 in\n+ 0 nosub\n", fast)
    check(err, path, 3, 1, "subcircuit instance 'x1': undefined subcircuit 'nosub'", at="X1")
    assert "none defined" in err.hint


def test_wrong_port_count(tmp_path, fast):
    text = "ports\n.subckt s a b\nR1 a b 1\n.ends\nV1 n1 0 1\n X1 n1\n+ n2 n3 s\n"
    err, path = error_of(tmp_path, text, fast)
    check(err, path, 6, 2, "subcircuit instance 'x1' connects 3 node(s) but subcircuit 's' has 2 port(s) (a b)", at="X1")
    assert err.hint == "give exactly 2 nodes before the subcircuit name"


def test_unknown_subcircuit_parameter_is_ignored_with_a_warning(tmp_path, fast):
    """As ngspice 39, which ignores it silently."""
    path = tmp_path / "net.cir"
    path.write_text("subckt param\n.subckt s a b params: r=1\nR1 a b {r}\n.ends\nV1 n1 0 1\nX1 n1 0 s\n+ r=2 q=3\n")
    circuit = resim.load_netlist(path, fast=fast)
    assert f"{path}:7:7: warning: subcircuit instance 'x1': 's' has no parameter 'q'; it was ignored" in circuit.warnings
    assert circuit["r"].value.tolist() == [2.0]


def test_duplicate_element(tmp_path, fast):
    err, path = error_of(tmp_path, "duplicate\nR1 a 0 1\nR2 a 0 1\n\tr1 a 0 2\n", fast)
    check(err, path, 4, 2, f"element 'r1' is defined twice (first at {path}:2)", at="r1")


def test_duplicate_element_from_the_grammar_path(tmp_path, fast):
    err, path = error_of(tmp_path, "duplicate\nR1 a 0 {1}\nV1 a 0 1\nR1 a 0\n+ 2\n", fast)
    check(err, path, 4, 1, f"element 'r1' is defined twice (first at {path}:2)", at="R1")


def test_duplicate_model(tmp_path, fast):
    err, path = error_of(tmp_path, "duplicate model\n.model d1 D(IS=1e-14)\nR1 a 0 1\n.MODEL D1 D(N=2)\n", fast)
    check(err, path, 4, 1, f"model 'd1' is defined twice (first at {path}:2:1)", at=".MODEL")


def test_duplicate_subcircuit(tmp_path, fast):
    err, path = error_of(tmp_path, "duplicate subckt\n.subckt s a\n.ends\n.subckt S b\n.ends\n", fast)
    check(err, path, 4, 1, f"subcircuit 's' is defined twice (first at {path}:2:1)", at=".subckt")


def test_unclosed_subckt(tmp_path, fast):
    err, path = error_of(tmp_path, "unclosed\nV1 a 0 1\n.subckt amp in out\nR1 in out 1k\nR2 out 0 1k\n", fast)
    check(err, path, 3, 1, "subcircuit 'amp' is never closed", at=".subckt amp")
    assert err.hint == "add '.ends amp' after its last element"


def test_stray_ends(tmp_path, fast):
    err, path = error_of(tmp_path, "stray\n.subckt s a\nR1 a 0 1\n.ends\nR2 a 0 1\n  .ends s\n", fast)
    check(err, path, 6, 3, ".ends without a matching .subckt", at=".ends")


def test_mismatched_ends_name(tmp_path, fast):
    err, path = error_of(tmp_path, "mismatch\n.subckt s a b\nR1 a b 1\n.ends\n+   other\n", fast)
    check(err, path, 5, 5, ".ends other closes subcircuit 's'", at="other")
    assert err.hint == "write '.ends s'"


def test_recursive_subcircuit(tmp_path, fast):
    err, path = error_of(tmp_path, "recursive\n.subckt s a\nX9 a s\n.ends\nV1 n 0 1\nX1 n s\n", fast)
    check(err, path, 3, 1, "recursive subcircuit: s -> s", at="X9")


# ---- includes --------------------------------------------------------------------------------------


def test_missing_include_file(tmp_path, fast):
    err, path = error_of(tmp_path, "missing include\nR1 a 0 1\n.include\n+ parts/nothere.cir\n", fast)
    missing = tmp_path / "parts" / "nothere.cir"
    check(err, path, 4, 3, f"cannot read netlist file '{missing}': No such file or directory", at="parts/")
    assert "relative .include paths" in err.hint


def test_missing_top_level_file(tmp_path, fast):
    with pytest.raises(NetlistError) as info:
        resim.load_netlist(tmp_path / "absent.cir", fast=fast)
    assert info.value.message == f"cannot read netlist file '{tmp_path / 'absent.cir'}': No such file or directory"
    assert info.value.location is None and info.value.hint


def test_include_cycle(tmp_path, fast):
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "b.cir").write_text("* b\nR2 x 0 1\n.inc  ../top.cir\n")
    err, path = error_of(tmp_path, "top\nR1 x 0 1\n.include lib/b.cir\n", fast, name="top.cir")
    check(err, tmp_path / "lib" / "b.cir", 3, 7, ".include cycle: top.cir -> b.cir -> top.cir", at="../top.cir")


def test_file_including_itself(tmp_path, fast):
    err, path = error_of(tmp_path, "self\nR1 x 0 1\n.include \"net.cir\"\n", fast)
    check(err, path, 3, 10, ".include cycle: net.cir -> net.cir", at='"net.cir"')


LIB_HINT = "to read a section of a library file write '.lib {0} SECTION'; to read the whole file write '.include {0}'"


def test_lib_without_a_section_is_refused_not_read_as_one(tmp_path, fast):
    """ngspice 39 refuses `.lib FILE` without a section ("unimplemented control card"); resim read
    it as the start of a section that swallowed the rest of the netlist (R2), silently."""
    (tmp_path / "models.lib").write_text("* models\n.model dm D(IS=1e-14)\n")
    err, path = error_of(tmp_path, "lib\nV1 1 0 1\nR1 1 2 1k\n  .lib models.lib\nR2 2 0 1k\n.end\n", fast)
    check(err, path, 4, 3, "'.lib models.lib' names no library section", at=".lib")
    assert LIB_HINT.format("models.lib") in err.hint


def test_a_bare_lib_line_says_what_is_wrong(tmp_path, fast):
    """Issue 23 11f: it said "the netlist has no elements"."""
    err, path = error_of(tmp_path, "bare\n.lib lib1.lib ; the parts\n", fast)
    check(err, path, 2, 1, "'.lib lib1.lib' names no library section", at=".lib")
    assert LIB_HINT.format("lib1.lib") in err.hint


def test_a_quoted_lib_file_is_not_shown_in_doubled_quotes(tmp_path, fast):
    """`.lib 'models.lib'` was shown as '.lib 'models.lib'' in the message and its hint."""
    err, path = error_of(tmp_path, "quoted\nV1 a 0 1\n.lib 'models.lib'\nR1 a 0 1k\n", fast)
    check(err, path, 3, 1, "\".lib 'models.lib'\" names no library section", at=".lib")
    assert "\".include 'models.lib'\"" in err.hint and "''" not in err.hint


def test_a_title_that_reads_like_a_lib_line_is_a_title(tmp_path, fast):
    """The first line is the title whatever it says (docs/netlist.md); ngspice 39 solves this
    netlist (v(1) = 1 V), and the unsectioned-.lib check must not read its title as a card."""
    path = tmp_path / "net.cir"
    path.write_text(".lib lib1.lib\nV1 1 0 1\nR1 1 0 1k\n")
    circuit = resim.load_netlist(path, fast=fast)
    assert circuit.title == ".lib lib1.lib"
    assert resim.solve(circuit).voltage("1") == pytest.approx(1.0)


def test_a_library_section_without_endl_is_refused(tmp_path, fast):
    (tmp_path / "parts.lib").write_text("* parts\n.lib other\nR9 a b 1\n.endl other\n\n .LIB res\n"
                                        ".subckt sub a b\nR3 a b 2k\n.ends\n")
    err, path = error_of(tmp_path, "lib\nV1 1 0 1\nX1 1 0 sub\n.lib parts.lib RES\n", fast)
    check(err, tmp_path / "parts.lib", 6, 2, "library section 'res' is never closed", at=".LIB")
    assert err.hint == "add '.endl res' after its last line"


def test_a_section_included_whole_is_refused(tmp_path, fast):
    """`.include` of a library file with sections: ngspice 39 refuses its `.lib NAME` line."""
    (tmp_path / "parts.lib").write_text("* parts\n.lib res\nR3 1 0 2k\n.endl\n")
    err, path = error_of(tmp_path, "lib\nV1 1 0 1\nR1 1 0 1k\n.include parts.lib\n", fast)
    check(err, tmp_path / "parts.lib", 2, 1, "'.lib res' names no library section", at=".lib")


# ---- diode models ------------------------------------------------------------------------------


def test_unknown_diode_model_parameter(tmp_path, fast):
    err, path = error_of(tmp_path, "model\nV1 a 0 1\n.model dm D(IS=1e-14\n+ bogus=3)\nD1 a 0 dm\n", fast)
    check(err, path, 3, 1, "model 'dm': unknown diode parameter 'bogus'", at=".model")
    assert "Ron, Roff, Vfwd" in err.hint


def test_mixed_shockley_and_pwl_parameters(tmp_path, fast):
    err, path = error_of(tmp_path, "model\nV1 a 0 1\n.model dm D(IS=1e-14 N=2\n+ Ron=1 Vfwd=0.7)\nD1 a 0 dm\n", fast)
    check(err, path, 3, 1, "model 'dm': mixes Shockley (IS, N) and piecewise-linear (Ron, Vfwd) parameters", at=".model")
    assert err.hint == "use IS/N/RS or Ron/Roff/Vfwd, not both"


def test_unsupported_breakdown_smoothing_parameter(tmp_path, fast):
    err, path = error_of(tmp_path, "model\n.model dm D(Ron=1 Vrev=5)\n", fast)
    check(err, path, 2, 1, "model 'dm': parameter 'vrev' (reverse breakdown/smoothing) is not supported", at=".model")


# ---- the same errors from text (no file) --------------------------------------------------------


def test_errors_from_text_name_the_text(fast):
    with pytest.raises(NetlistError) as info:
        resim.load_netlist("t\nV1 a 0 1\nR1 a\n+ 0 {x}\n", fast=fast)
    assert str(info.value.location) == "<text>:4:6"
    assert info.value.render().split("\n")[1:3] == ["  + 0 {x}", "       ^"]
