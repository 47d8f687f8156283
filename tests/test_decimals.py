"""The bulk decimal reader (resim.netlist.decimals) against float(), bit for bit.

Every token it says it read must hold float()'s value exactly (the sign of zero included);
tokens it declines go to float() in the scanner, so declining is always allowed, but the
shapes netlists are written in (repr of a double, %g, integers) must not be declined.
"""

from __future__ import annotations

import struct

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from resim.netlist import bulk, decimals

pytestmark = pytest.mark.skipif(not decimals.x87(), reason="numpy's longdouble is not x87 extended on this machine: "
                                "the scanner reads every number with float() here")


def rows_of(tokens: list[str]) -> np.ndarray:
    width = max(map(len, tokens))
    out = np.zeros((len(tokens), width), np.uint8)
    for i, tok in enumerate(tokens):
        out[i, : len(tok)] = np.frombuffer(tok.encode(), np.uint8)
    return out


def bits(x: float) -> bytes:
    return struct.pack("<d", x)


def check(tokens: list[str]) -> np.ndarray:
    """Parse ``tokens``; assert every value read is float()'s; return the mask of those read."""
    values, done = decimals.parse(rows_of(tokens))
    for tok, value, read in zip(tokens, values.tolist(), done.tolist()):
        if read:
            assert bits(value) == bits(float(tok)), (tok, value, float(tok))
        else:
            assert value == 0.0
    return done


doubles = st.floats(allow_nan=False, allow_infinity=False)


@settings(max_examples=300, deadline=None)
@given(st.lists(doubles, min_size=1, max_size=200))
@example([0.0, -0.0, 1e-300, 5e-324, 1.7976931348623157e308, 0.1, 84.96815610614901, 10088.144473546276,
          0.0007032606242065164])
def test_the_shortest_repr_of_doubles_reads_back_exactly(xs: list[float]) -> None:
    tokens = [repr(x).lower() for x in xs]
    done = check(tokens)
    for tok, read, x in zip(tokens, done, xs):  # what a netlist writer writes is read, but for midpoints
        if x == 0 or 1e-10 < abs(x) < 1e20:
            assert read or rounds_to_a_midpoint(tok), tok


digits = st.text("0123456789", min_size=0, max_size=22)


@settings(max_examples=500, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["", "+", "-"]), digits, st.sampled_from(["", "."]), digits,
                          st.sampled_from(["", "e", "e+", "e-", "E"]), st.text("0123456789", max_size=4)),
                min_size=1, max_size=100))
def test_generated_decimal_tokens_read_as_float_reads_them(parts) -> None:
    tokens = []
    for sign, whole, point, frac, e, exp in parts:
        tok = sign + whole + point + frac + (e + exp if e else "")
        if tok:
            tokens.append(tok)
    if tokens:
        check(tokens)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text("0123456789+-.eE_xinfa", min_size=1, max_size=12), min_size=1, max_size=50))
def test_odd_tokens_are_read_only_as_float_reads_them(tokens: list[str]) -> None:
    check(tokens)  # (float() raising on a token read would fail here too)


def test_midpoints_between_doubles_are_left_to_float() -> None:
    # 2**53 + 1 lies halfway between two doubles: one rounding gives the even one, two might not
    tokens = ["9007199254740993", "9007199254740993e0", "90071992547409930e-1", "4503599627370496.5",
              "9007199254740993.1", "9007199254740992.9"]
    done = check(tokens)
    assert not done[:4].any()
    assert done[4:].all()


def test_more_digits_or_a_larger_exponent_than_exact_are_left_to_float() -> None:
    done = check(["1" * 19, "1" * 20, "0.000" + "1" * 19, "0.000" + "1" * 20, "0" * 8 + "1" * 19, "0" * 9 + "1" * 19,
                  "1e27", "1e28", "1e-27", "1e-28", "1e100", "1.5e0001"])
    assert done.tolist() == [True, False, True, False, True, False, True, False, True, False, False, False]


def test_a_netlist_writers_shapes_are_read() -> None:
    tokens = ["0", "0.0", "-0.0", "2.5", ".5", "5.", "+.5e-3", "1.e5", "1e+5", "-1e-5", "4.7e3", "100"]
    done = check(tokens)
    assert done.all()
    assert bits(decimals.parse(rows_of(["-0.0"]))[0][0]) == bits(-0.0)


def test_the_scanner_reads_the_same_values_with_and_without_the_bulk_reader(monkeypatch) -> None:
    rng = np.random.default_rng(3)
    xs = np.concatenate([rng.lognormal(0, 8, 3000), -rng.random(1000), [0.0, 1.0, 9007199254740993.0]])
    tokens = [repr(float(x)) for x in xs] + ["1..2", "5e", "1e400", "inf", "nan", "1_0", "+-1", "."]
    buf = bulk._buffer(" ".join(tokens).encode() + b"\n")
    ends = np.cumsum([len(t) + 1 for t in tokens]) - 1
    starts = ends - [len(t) for t in tokens]
    bad, values = bulk._numbers(buf, starts, ends)
    monkeypatch.setattr(decimals, "_POWERS", None)  # as on a machine without x87 long doubles
    bad_f, values_f = bulk._numbers(buf, starts, ends)
    assert np.array_equal(bad, bad_f)
    assert values.view(np.uint64).tolist() == values_f.view(np.uint64).tolist()
    assert bad.tolist()[-8:] == [True] * 8 and not bad[:-8].any()


def rounds_to_a_midpoint(token: str) -> bool:
    """Whether ``token``'s exact value, rounded to a 64-bit significand (half to even), is
    halfway between two doubles: the case the reader must leave to float(). Exact
    (fractions), independent of numpy."""
    from fractions import Fraction

    v = abs(Fraction(token))
    if v == 0:
        return False
    e = v.numerator.bit_length() - v.denominator.bit_length()  # 2**e <= v < 2**(e+2)
    while v >= Fraction(2) ** (e + 1):
        e += 1
    while v < Fraction(2) ** e:
        e -= 1
    q = v * Fraction(2) ** (63 - e)  # in [2**63, 2**64)
    r = round(q)  # Fraction.__round__: half to even
    return r % 2**11 == 2**10
