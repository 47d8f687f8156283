"""Differential tests: the bulk fast path (resim/netlist/bulk.py) against the grammar.

``load_netlist(text, fast=True)`` reads simple R/V/I lines in whole-file numpy passes
(:mod:`resim.netlist.bulk`) and everything else with the Lark grammar; ``fast=False`` reads
every line with the grammar. The two must agree on every input: the same elements (names,
node names, bit-identical values, lines) or the same error. Hypothesis generates valid
simple lines with varied spelling and near-miss lines that the fast path must hand to the
grammar; a sweep puts every byte value in every token position; and the scanner's reading
of the grammar's terminals is checked against the terminals Lark builds.
"""

from __future__ import annotations

import os
import re

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import resim
import resim.netlist.grammar as grammar_module
from resim.netlist import bulk
from resim.netlist.text import NetlistText
from resim.errors import ResimError

KINDS = ("r", "v", "i", "d", "e", "g")


def outcome(text: str, fast: bool):
    """Everything observable about reading ``text``: the circuit's elements, or the error."""
    try:
        c = resim.load_netlist(text, fast=fast)
    except ResimError as exc:
        return ("error", type(exc).__name__, exc.render())
    groups = {}
    for kind in KINDS:
        g = c[kind]
        groups[kind] = (
            g.names,
            tuple(tuple(c.nodes[k] for k in row) for row in g.nodes.tolist()),
            np.asarray(g.value, np.float64).view(np.int64).tolist(),  # bitwise (sign of 0, NaN payload)
            g.line.tolist(),
            g.file.tolist(),
            None if g.ref is None else [c.models[m].name for m in g.ref.tolist()],
        )
    return ("ok", c.nodes, groups, c.warnings, c.title)


def assert_same(text: str) -> None:
    fast = outcome(text, True)
    slow = outcome(text, False)
    assert fast == slow, f"fast and grammar paths differ on:\n{text!r}\nfast: {fast}\nslow: {slow}"


# ---- strategies ---------------------------------------------------------------------------

SEP = st.sampled_from([" ", "  ", "\t", " \t ", "   "])
NAME_CHARS = "abcxyzABCXYZ0123456789_"
ODD_CHARS = ";$/=(){}',\"*+^-.:#!@%&|<>?~`[]\\\xa0\u0130\u212a\u0665\xe9\u03a3"


def words(first: str, chars: str = NAME_CHARS, max_size: int = 5):
    return st.builds(lambda a, b: a + b, st.sampled_from(first), st.text(chars, max_size=max_size))


NODE = st.one_of(
    st.sampled_from(["0", "gnd", "GND", "Gnd", "in", "OUT", "n1", "N1", "a.b", "x-y", "dc", "ac", "1k", "0.5", "params:", "e1"]),
    words(NAME_CHARS + "._"),
)
MANTISSA = st.one_of(
    st.integers(0, 10**6).map(str),
    st.builds(lambda a, b: f"{a}.{b}", st.integers(0, 999), st.integers(0, 999)),
    st.builds(lambda b: f".{b}", st.integers(0, 999)),
    st.builds(lambda a: f"{a}.", st.integers(0, 999)),
    # below 1e290, so that no suffix (at most x1e12) or exponent (at most e30) takes a valid
    # number past the largest float (out of range is an error on both paths: test_netlist_limits)
    st.floats(allow_nan=False, allow_infinity=False, width=64, max_value=1e290, min_value=-1e290)
    .map(lambda x: repr(abs(x))),
)
EXPONENT = st.one_of(st.just(""), st.builds(lambda e, s, n: f"{e}{s}{n}", st.sampled_from("eE"),
                                                st.sampled_from(["", "+", "-"]), st.integers(0, 30)))
SIGN = st.sampled_from(["", "", "+", "-"])
PLAIN_NUMBER = st.builds(lambda s, m, e: s + m + ("" if "e" in m else e), SIGN, MANTISSA, EXPONENT)
SUFFIX = st.sampled_from(["", "k", "K", "meg", "Meg", "MEG", "m", "M", "u", "n", "p", "f", "a", "T", "g", "mil",
                          "kOhm", "V", "A", "e", "E", "x", "ohm"])
NUMBER = st.builds(lambda n, s: n + s, PLAIN_NUMBER, SUFFIX)
BAD_NUMBER = st.sampled_from(["1..2", "--1", "+-1", "1e+", ".", "+", "-", "e5", "1e5.5", "0x10", "1_000",
                              "1,5", "5%", "1/2", "{1+2}", "{x}", "{", "}", "'2*3'", "'", "1k2", "\u0665",
                              "inf", "nan", "1e400", "-0", "-0.0", "dc", "DC", "ac", "params:", "5.k"])
DC = st.sampled_from(["", "", "dc", "DC", "Dc", "dC"])
ELEMENT_NAME = st.one_of(
    words("rRvViI"),
    words("rRvViI", NAME_CHARS + ODD_CHARS, 3),
    st.sampled_from(["R", "v", "I", "r.x1.r1", "\u0130", "\u0130x", "i\u0307", "R1:2", "V-1", "Rgnd"]),
)


@st.composite
def valid_line(draw) -> str:
    """A simple element card the fast path is meant to take (possibly with an AC part)."""
    name = draw(words("rRvViI"))
    tokens = [name, draw(NODE), draw(NODE)]
    if name[0] in "vViI":
        dc = draw(DC)
        if dc:
            tokens.append(dc)
    tokens.append(draw(st.one_of(PLAIN_NUMBER, NUMBER)))
    if name[0] in "vViI" and draw(st.integers(0, 5)) == 0:
        tokens += ["AC", draw(PLAIN_NUMBER)]
    return join(draw, tokens)


def join(draw, tokens: list[str]) -> str:
    lead = draw(st.sampled_from(["", "", "", " ", "\t"]))
    trail = draw(st.sampled_from(["", "", "", " ", "\t", "  ", "\x0c"]))
    out = tokens[0]
    for t in tokens[1:]:
        out += draw(SEP) + t
    return lead + out + trail


@st.composite
def near_miss_line(draw) -> str:
    """A line close to a simple element card: one mutation away, often invalid."""
    name = draw(ELEMENT_NAME)
    tokens = [name, draw(NODE), draw(NODE)]
    if draw(st.booleans()):
        tokens.append(draw(DC))
    tokens.append(draw(st.one_of(NUMBER, BAD_NUMBER)))
    tokens = [t for t in tokens if t]
    mutation = draw(st.integers(0, 9))
    if mutation == 0 and len(tokens) > 1:  # drop a token
        del tokens[draw(st.integers(0, len(tokens) - 1))]
    elif mutation == 1:  # an extra token somewhere
        tokens.insert(draw(st.integers(1, len(tokens))), draw(st.one_of(NODE, NUMBER, BAD_NUMBER, DC)))
    elif mutation == 2:  # odd characters in a token
        k = draw(st.integers(0, len(tokens) - 1))
        pos = draw(st.integers(0, len(tokens[k])))
        tokens[k] = tokens[k][:pos] + draw(st.text(ODD_CHARS, min_size=1, max_size=2)) + tokens[k][pos:]
    elif mutation == 3:  # an inline comment
        tokens.append(draw(st.sampled_from(["; note", ";", "// note", "$ note", "$", "*x", "//"])))
    elif mutation == 4:  # glued comment markers
        tokens[-1] += draw(st.sampled_from([";c", "$c", "//c", "/c", "*c"]))
    elif mutation == 5:  # an assignment (resistors take none here either)
        tokens.append(draw(st.sampled_from(["m=2", "tc=1", "=", "a =", "{1}"])))
    elif mutation == 6:  # a resistor with DC
        tokens = ["R" + tokens[0][1:] if tokens[0][:1] else "R1", *tokens[1:3], draw(st.sampled_from(["dc", "DC"])),
                  draw(NUMBER)]
    elif mutation == 7:  # other element letters and dot-commands
        tokens[0] = draw(st.sampled_from(["C1", "L1", "Q1", "D1", "E1", "G1", "X1", ".op", ".end", ".dc", ".foo",
                                          ".param", "*", "+", ".model", ".ends", ".control", ".endc"]))
    elif mutation == 8:  # AC part
        tokens += draw(st.sampled_from([["ac"], ["AC", "1"], ["ac", "1", "0"], ["ac", "1", "0", "9"]]))
    return join(draw, tokens)


COMMENT_LINE = st.sampled_from(["* a comment", "*", "  * indented comment", "", "   ", "\t", "*+ not a continuation"])
CONTINUATION = st.builds(
    lambda body, comment: "+" + body + comment,
    st.sampled_from(["", " ", " 5", " 1k", "5", " dc 5", " b 5", " a b 5", " {2}", " x", "+ 5", " ac 1"]),
    st.sampled_from(["", "", " ; c", " $ c", "//c"]),
)
STRUCTURE = st.sampled_from([".subckt s a b", ".SUBCKT s a b params: p=1", ".ends", ".ends s", ".control", ".endc",
                             ".end", ".op", ".param p = 2", "X1 a b s", "x2 0 n s p=3", "R9 a b {p}", ".tran 1n 1u"])
@st.composite
def diode_line(draw) -> str:
    """A diode card, mostly the plain four tokens (read without the grammar: bulk.plain_diode),
    some with an area, parameters, odd characters or a token short."""
    tokens = [draw(st.one_of(words("dD"), words("dD", NAME_CHARS + ODD_CHARS, 3))), draw(NODE), draw(NODE),
              draw(DIODE_MODEL)]
    more = draw(st.integers(0, 7))
    if more == 0:
        tokens.append(draw(st.sampled_from(["2", "area=2", "off", "m=2", "{2}", "; c", "$ c", "temp=3", "("])))
    elif more == 1:
        del tokens[draw(st.integers(1, 3))]
    elif more == 2:
        k = draw(st.integers(0, 3))
        tokens[k] += draw(st.text(ODD_CHARS, min_size=1, max_size=2))
    return join(draw, tokens)


DIODE_MODEL = st.sampled_from(["dm", "DM", "Dm", "dx", "1n", "d1", "dm(", "dm=", "+dm", "gnd", "İ"])
MODEL_CARD = st.sampled_from([".model dm d", ".model DX D(is=1e-14)", ".model 1n d", ".model d1 d(ron=0 vfwd=0)"])
LINE = st.one_of(valid_line(), valid_line(), near_miss_line(), COMMENT_LINE, CONTINUATION, STRUCTURE, diode_line(),
                 diode_line(), MODEL_CARD)
TITLE = st.one_of(st.just("title"), valid_line(), near_miss_line(), st.just(""), st.just("+ 5"))


def netlist(lines: list[str], title: str = "title") -> str:
    return "\n".join([title, *lines]) + "\n"


# ---- the differential property ------------------------------------------------------------


@settings(max_examples=int(os.environ.get("RESIM_HYPOTHESIS_EXAMPLES", 200)), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(title=TITLE, lines=st.lists(LINE, min_size=1, max_size=8))
@example(title="t", lines=["R1 a b dc 5"])
@example(title="t", lines=["R1 a b 5", "+ 6"])
@example(title="t", lines=["R1 a b 5", "* c", "+ 6"])
@example(title="t", lines=["R1 a b 5", "", "+ 6"])
@example(title="R1 a b 5", lines=["+ 6"])
@example(title="t", lines=["V1 a b dc 5 ac 1"])
@example(title="t", lines=["\u0130 a b 5"])  # 'İ'.lower() is 'i' + a combining dot
@example(title="t", lines=["\u0130x a b 5", "V1 a 0 1"])
@example(title="t", lines=["R1 a\xa0b c 5"])
@example(title="t", lines=["R1 a b \u0665"])  # an Arabic-Indic digit
@example(title="t", lines=["R1 a b 1e5.5"])
@example(title="t", lines=["R1 a b 5\x0c"])
@example(title="t", lines=["R1 a$b c 5", "R2 a $b 5"])
@example(title="t", lines=["r1 a b 1", "R1 c d 2"])
@example(title="t", lines=[".control", "R1 a b 5", ".endc", "R2 a b 5"])
@example(title="t", lines=["R1 a b 5", ".end", "R2 a b 5"])
@example(title="t", lines=[".subckt s a b", "R1 a b 5", ".ends", "X1 p q s"])
@example(title="t", lines=[".model dm d", "D1 a GND DM", "d2\ta b dm\t", "R1 a b 1", "V1 b 0 1"])
@example(title="t", lines=[".model dm d", "D1 a b dm 2", "D2 a b dm(", "D3 a b", "R1 a b 1"])
def test_fast_path_agrees_with_grammar(title, lines):
    assert_same(netlist(lines, title))


@settings(max_examples=int(os.environ.get("RESIM_HYPOTHESIS_EXAMPLES", 200)) // 2, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(title=TITLE, lines=st.lists(LINE, min_size=1, max_size=12), chunk=st.integers(1, 80))
@example(title="t", lines=["R1 a b 5", "* c", "", "+ 6", "R2 a b 7"], chunk=10)  # a continuation in the next chunk
def test_the_fast_path_reads_the_same_in_chunks_of_any_size(title, lines, chunk):
    """The scanner reads a large file a chunk of lines at a time (bulk.CHUNK_BYTES): where
    the chunks end changes nothing, not even for a line continued in the next chunk."""
    text = netlist(lines, title)
    whole = outcome(text, True)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(bulk, "CHUNK_BYTES", chunk)
        assert outcome(text, True) == whole == outcome(text, False)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(title=TITLE, lines=st.lists(LINE, min_size=20, max_size=60), chunk=st.integers(8, 120))
def test_two_scanning_processes_read_as_one(title, lines, chunk):
    """A large file's chunks are scanned by two forked processes (bulk.PARALLEL_BYTES): the
    same netlist as one process and as the grammar reads, continuations across chunks too."""
    text = netlist(lines, title)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(bulk, "CHUNK_BYTES", chunk)
        mp.setattr(bulk, "PARALLEL_BYTES", 1)
        assert outcome(text, True) == outcome(text, False)


@settings(max_examples=100, deadline=None)
@given(st.lists(near_miss_line(), min_size=1, max_size=3))
def test_near_miss_lines_alone(lines):
    assert_same(netlist(lines))


@settings(max_examples=60, deadline=None)
@given(st.lists(valid_line(), min_size=1, max_size=5))
def test_valid_lines_read_identically(lines):
    text = netlist(lines)
    assert_same(text)
    names = [line.split()[0].lower() for line in lines]
    if len(set(names)) == len(names):  # otherwise: a duplicate-element error, the same both ways
        assert outcome(text, True)[0] == "ok"


@pytest.mark.parametrize(
    "line",
    [
        "R1 a b dc 5",
        "R1 a b 5 dc",
        "V1 a b dc",
        "V1 a b dc5",
        "V1 a b 5 6",
        "R1 a b",
        "R1 a b 1k2",
        "R1 a b {1}",
        "R1 a b '1'",
        "R1 a b 1e",
        "R1 a b 5 m=2",
        "R1 a= b 5",
        "R1 a (b) 5",
        "R1 +a b 5",
        "R1 a -b 5",
        "R1 a b- 5",
        "R1 *a b 5",
        "R1 a b ^5",
        "R1 a b 5;c",
        "R1 a b 5 $c",
        "R1 a b 5$c",
        "R1 a b 5//c",
        "R1 a b 5/c",
        "R1; a b 5",
        "R$1 a b 5",
        "R/1 a b 5",
        "R\"1 a b 5",
        "V1 a b -.5e-3",
        "I1 a b +5.",
        "I1 a b DC +5.E+2",
        "R1 0 GND 1",
        "R1 a b 5 ac 1",
        "V1 a b ac 1",
        "v1 a b dc 1 ac",
        "\u0130 a b 5",
    ],
)
def test_fixed_near_misses(line):
    assert_same(netlist([line, "R99 z 0 1"]))
    assert_same(netlist(["R98 y 0 1", line, "+ 1"]))


# ---- the fast path is really taken -----------------------------------------------------------


def _counting(monkeypatch) -> list:
    calls = []
    real = grammar_module.parse_line

    def counted(line):
        calls.append(line.text)
        return real(line)

    monkeypatch.setattr(grammar_module, "parse_line", counted)
    return calls


def simple_netlist(n: int) -> str:
    lines = ["big ladder"]
    for k in range(n):
        kind = "RVI"[k % 3] if k % 10 == 0 else "R"
        value = "DC 1.5" if kind != "R" and k % 20 == 0 else f"{k + 1}e-1"
        lines.append(f"{kind}{k} n{k} n{k + 1} {value}")
    return "\n".join(lines) + "\n"


def test_fast_path_taken_for_simple_lines(monkeypatch):
    calls = _counting(monkeypatch)
    text = simple_netlist(1000)
    c = resim.load_netlist(text, fast=True)
    # only sources written with the DC keyword (five tokens) are left to the grammar
    assert all(" dc " in call.lower() for call in calls)
    assert len(calls) < 200
    n_grammar = len(calls)
    assert len(c["r"]) + len(c["v"]) + len(c["i"]) == 1000
    # ... and the grammar reads the same netlist identically, one call per line
    slow = resim.load_netlist(text, fast=False)
    assert len(calls) == n_grammar + 1000
    for kind in "rvi":
        assert c[kind].names == slow[kind].names
        assert np.array_equal(c[kind].nodes, slow[kind].nodes)
        assert np.array_equal(c[kind].value, slow[kind].value)
        assert np.array_equal(c[kind].line, slow[kind].line)
    assert c.nodes == slow.nodes


def test_fast_path_hands_only_special_lines_to_the_grammar(monkeypatch):
    calls = _counting(monkeypatch)
    text = "t\nR1 a b 1\nR2 b c {1+1}\nV1 a 0 DC 5\nR3 c 0\n+ 3\nI1 0 c 1m\nR4 c 0 2 ; comment\n"
    resim.load_netlist(text, fast=True)
    assert calls == ["R2 b c {1+1}", "V1 a 0 DC 5", "R3 c 0 3", "I1 0 c 1m", "R4 c 0 2"]


# ---- every byte in every token position ------------------------------------------------------


def char_holding(b: int) -> str | None:
    """A character whose UTF-8 encoding holds byte ``b``; None for the bytes UTF-8 never
    uses (0xC0, 0xC1, 0xF5..0xFF: a file holding them is decoded with U+FFFD in their place,
    so they never reach the scanner)."""
    if b < 0xC0:
        return chr(b)  # ASCII, or a continuation byte: U+0080..U+00BF is C2 80..C2 BF
    if b < 0xC2 or b > 0xF4:
        return None
    if b < 0xE0:
        return chr((b - 0xC0) << 6)
    if b < 0xF0:
        return chr(max((b - 0xE0) << 12, 0x800))
    return chr(max((b - 0xF0) << 18, 0x10000))


def test_char_holding_covers_every_byte_utf8_uses():
    for b in range(256):
        c = char_holding(b)
        assert (c is None) == (b in (0xC0, 0xC1) or b >= 0xF5)
        assert c is None or bytes([b]) in c.encode("utf-8")


NON_ASCII = {char_holding(b) for b in range(128, 256)} - {None}
LETTERS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
# Characters the grammar reads in a position but the fast path may leave to it: in names,
# NUL (the node hash pads with it), '"' (the grammar's string delimiter), and '$' and '/'
# (comment markers elsewhere); in numbers, the scale letters and a ';' comment after them.
NAME_DECLINES = {"\0", '"', "$", "/"} | NON_ASCII
# ',': the grammar reads commas between a card's items (R1 a b ,5 is 5 ohm); the fast path leaves them to it
NUMBER_DECLINES = {";", ","} | LETTERS | NON_ASCII
LINE_END = {c for c in map(chr, range(128)) if c.isspace()}  # the line reader strips white space
# {} is the character; each line stands alone and before a simple line
POSITIONS = {
    "R{}1 a b 5": NAME_DECLINES,  # element names
    "R1{} a b 5": NAME_DECLINES,
    "V{} a b 5": NAME_DECLINES,
    # node names: the grammar reads any character but white space and '=' there (KiCad writes
    # `/out`, `Net-(R1-Pad2)`); the fast path takes only the characters of NAME
    "R1 {}a b 5": None,
    "R1 a {}b 5": None,
    "R1 {} b 5": None,
    "R1 a{} b 5": None,
    "R1 a b {}5": NUMBER_DECLINES | {"$"},  # numbers ('$': a comment, then no value: 1 milliohm)
    "R1 a b 5{}": NUMBER_DECLINES | LINE_END,
    "R1 a b 1{}5": NUMBER_DECLINES,
    "R1 a b 1e{}2": NUMBER_DECLINES,
    "I1 a 0 2.{}": NUMBER_DECLINES | LINE_END,
    # separators: any other character joins two tokens, and a card of three tokens is a
    # resistor without a value (ngspice's 1 milliohm), which the grammar reads
    "R1 a b{}5": None,
    "R1{}a b 5": None,
    "{}R1 a b 5": None,  # line start: white space, comments, continuations... are the grammar's
}


@pytest.mark.parametrize("template", POSITIONS)
def test_every_byte_in_every_position(template):
    """For every byte value in the position: where the fast path takes the line, both paths
    read the netlist identically; it declines only characters the grammar rejects there or
    that are listed as left to the grammar (so this is no sweep of declined lines)."""
    declines = POSITIONS[template]
    for b in range(256):
        c = char_holding(b)
        if c is None:
            continue
        text = netlist([template.format(c), "R99 z 0 1"])
        if 1 not in bulk.scan(NetlistText.from_str(text), 1).slow:  # the fast path takes the line
            assert_same(text)
        elif not (declines is None or c in declines or c in "\n\r"):  # ('\n', '\r': another line)
            assert outcome(text, False)[0] == "error", f"the fast path leaves {text!r} to the grammar"


@settings(max_examples=int(os.environ.get("RESIM_HYPOTHESIS_EXAMPLES", 200)), deadline=None)
@given(line=st.one_of(diode_line(), near_miss_line()))
@example(line="D1 a b dm")
@example(line="\tdxyz  n1 GND\tModel ")
@example(line="D1 a b dm off")
@example(line="D1 a=b c dm")
@example(line="d 0 0 dm,")
@example(line=".dc 0 0 1..2")  # not an element at all
def test_plain_diode_cards_read_as_the_grammar_reads_them(line):
    """bulk.plain_diode gives the grammar's statement for the lines it takes, and takes the
    plain four-token cards."""
    from resim.netlist import transform
    from resim.netlist.source import join_logical

    logical, _ = join_logical([line], 0, "<text>")
    ours = bulk.plain_diode(logical)
    try:
        theirs = transform.statement(grammar_module.parse_line(logical), logical, [])
    except ResimError:
        theirs = None
    if ours is not None:
        assert ours == theirs
    elif getattr(theirs, "kind", None) == "d" and len(logical.text.split()) == 4 and "\x0c" not in line \
            and "," not in line:  # (a comma is an item the grammar skips: 'd 0 0 dm,' may be declined)
        assert theirs.value is not None or theirs.params, f"a plain diode card left to the grammar: {line!r}"


def test_scanner_reads_the_terminals_lark_builds():
    """bulk.py reads grammar.lark's regular-expression terminals without importing lark."""
    from lark.lexer import PatternRE

    lark_patterns = {t.name: t.pattern.to_regexp() for t in grammar_module.grammar().terminals
                     if isinstance(t.pattern, PatternRE)}
    ours = bulk.grammar_patterns()
    assert {"NAME", "R_NAME", "V_NAME", "I_NAME", "NUMBER"} <= set(ours)
    assert {name: lark_patterns.get(name) for name in ours} == ours


def test_token_separators_are_the_grammars():
    """Tokens are split at exactly the bytes the grammar ignores (WS_INLINE), and every ASCII
    character str.split() splits at is a separator, a newline or a byte no simple line holds
    (the scanner joins tokens and splits them with str.split)."""
    grammar = grammar_module.grammar()
    assert list(grammar.lexer_conf.ignore) == ["WS_INLINE"]
    ignored = [t for t in grammar.terminals if t.name == "WS_INLINE"]
    ws = re.compile(ignored[0].pattern.to_regexp())
    classes = bulk.byte_classes()
    assert {b for b in range(256) if classes[b] == bulk._SEP} == {b for b in range(128) if ws.fullmatch(chr(b))}
    for b in range(128):
        if chr(b).isspace():
            assert classes[b] in (bulk._SEP, bulk._NL, bulk._BAD), hex(b)


@pytest.mark.parametrize("text", [
    "title\nV1 a 0 1\nrlongname_abcdefgh a b 1000\nR2 b 0 1\n",  # a long element name, the file ending soon after
    "title\nV1 a 0 1\nR1 a longnodename_xxxxxxxx 1000\nR2 longnodename_xxxxxxxx b 1\nR3 b 0 1\n",  # a long node name
    "title\nR1 a 0 1\nV1 a 0 1\nrname_long_enough_for_two_words 0 a 5",  # no final newline
])
def test_names_longer_than_a_word_near_the_end_of_a_file(text):
    """The scanner reads names 8 bytes at a time, past their ends into the buffer's slack:
    a long name on one of the last lines once read past the slack (an internal error)."""
    assert_same(text)
    assert outcome(text, True)[0] == "ok"
