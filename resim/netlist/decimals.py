"""Decimal number tokens to float64 in whole-array passes, rounded exactly as ``float()`` rounds.

The bulk scanner (:mod:`.bulk`) reads millions of element values such as
``10088.144473546276``. ``float()`` of each costs ~0.35 us (CPython's correctly rounded
``strtod``), a quarter of the scanner's time. Here a token of the plain shape

    [+-]? digits [. digits]? [e [+-]? digits]?      (digits before or after the point)

is read as an integer mantissa ``m`` (at most 19 digits after any leading zeros, so ``m < 2**64``) and a power of
ten ``k`` (``|k| <= 27``), and its value ``v = m 10**k`` computed in x87 extended precision
(numpy's ``longdouble`` on x86-64: a 64-bit significand, in which ``m`` and ``10**|k|`` are
both exact, since ``10**27 = 5**27 2**27`` with ``5**27 < 2**64``). One product or quotient
rounds ``v`` to 64 bits, ``r = round64(v)``; converting ``r`` to float64 rounds again. The
two roundings agree with one rounding of ``v`` to 53 bits unless ``r`` is a midpoint of the
53-bit grid: the midpoints lie on the 64-bit grid, so rounding ``v`` to that grid cannot
carry it across one, only onto one. A token whose ``r`` has its 11 low significand bits
equal to ``0b10000000000`` (a midpoint, about one in 2048) is read by ``float()`` instead,
and so is every token not of the plain shape, with more digits or a larger exponent. Where
``longdouble`` is not the x87 format (other machines), every token goes to ``float()``.

``tests/test_decimals.py`` checks the values against ``float()`` bit for bit: generated
tokens, shortest ``repr`` of random doubles, and midpoint cases.
"""

from __future__ import annotations

import re

import numpy as np

from .names import MIX, hash_words

MAX_DIGITS = 19  # digits of the mantissa (10**19 < 2**64)
MAX_POWER = 27  # |k|: 10**27 is exact in a 64-bit significand
_LEADING_ZEROS = 8  # digits a mantissa may have beyond MAX_DIGITS, when as many lead it as zeros

_SHAPE = re.compile(r"[+-]?(?:0+\.?0*|\.0+)(?:e[+-]?0+)?")  # a token's shape: each digit written '0'


def x87() -> bool:
    """Whether numpy's ``longdouble`` is the x87 80-bit format (64-bit significand, stored
    little-endian in the first 8 of its 16 bytes) this module's rounding argument needs."""
    return np.finfo(np.longdouble).nmant == 63 and np.dtype(np.longdouble).itemsize == 16 and np.little_endian


_POWERS = np.array([10**k for k in range(MAX_POWER + 1)], np.longdouble) if x87() else None


def parse(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(values, done)`` of the tokens held as the rows of ``rows`` (``uint8``, C order, one
    token a row, NUL-padded on the right, no NUL inside a token).

    ``values[i]`` equals ``float(token i)`` bit for bit where ``done[i]``; elsewhere it is 0
    and the token is left to ``float()`` (another shape, too many digits, a double-rounding
    midpoint, or a machine without x87 ``longdouble``).

    The tokens are grouped by *shape*, the token with each digit written ``0``
    (``84.96815610614901`` is ``00.00000000000000``): a few dozen shapes cover a netlist's
    millions of values. A shape says whether its tokens are plain numbers and which columns
    hold the mantissa's and the exponent's digits, so each group's mantissas are one
    multiply-add per digit column, over its rows at once.
    """
    n, width = rows.shape
    values = np.zeros(n)
    done = np.zeros(n, bool)
    if _POWERS is None or n == 0 or width > 8 * len(MIX):  # (longer tokens: at most 64 bytes are hashed)
        return values, done
    if width % 8:  # whole 64-bit words per row, for the shapes' hashes
        rows = np.pad(rows, ((0, 0), (0, 8 - width % 8)))
        width = rows.shape[1]
    digit = rows - np.uint8(48)  # a digit's value; other bytes wrap past 9
    shapes = np.where(digit < 10, np.uint8(48), rows)
    codes, first = _group(np.ascontiguousarray(shapes).view(np.uint64))
    mantissa = np.zeros(n, np.uint64)
    power = np.zeros(n, np.int64)
    order = np.argsort(codes.astype(np.int16) if len(first) < 2**15 else codes, kind="stable")
    bounds = np.r_[0, np.cumsum(np.bincount(codes, minlength=len(first)))]
    ten = np.uint64(10)
    for code, row in enumerate(first.tolist()):
        shape = shapes[row].tobytes().rstrip(b"\0").decode("latin-1")
        if _SHAPE.fullmatch(shape) is None:
            continue
        body, _, exp = shape.partition("e")
        places = [j for j, c in enumerate(body) if c == "0"]  # the mantissa's digit columns
        if len(places) > MAX_DIGITS + _LEADING_ZEROS or len(exp.lstrip("+-")) > 3:
            continue
        idx = order[bounds[code]:bounds[code + 1]]
        block = digit[idx]
        m = block[:, places[0]].astype(np.uint64)
        for j in places[1:]:
            m *= ten  # past 19 significant digits this wraps: those rows are declined below
            m += block[:, j]
        fits = np.ones(len(idx), bool)
        if len(places) > MAX_DIGITS:  # leading zeros (0.000703...) are not significant digits
            significant = len(places) - np.argmax(block[:, places] != 0, axis=1)
            fits = significant <= MAX_DIGITS
        p = np.zeros(len(idx), np.int64)
        for j in range(len(body) + 1 + len(exp) - len(exp.lstrip("+-")), len(shape)):
            p *= 10
            p += block[:, j]
        if exp.startswith("-"):
            p = -p
        point = body.find(".")
        p -= 0 if point < 0 else sum(1 for j in places if j > point)
        mantissa[idx], power[idx] = m, p
        done[idx] = fits & (np.abs(p) <= MAX_POWER)
    at = np.flatnonzero(done)
    m = mantissa[at].astype(np.longdouble)
    p = power[at]
    scale = _POWERS[np.abs(p)]
    r = np.where(p >= 0, m * scale, m / scale)
    low = r.view(np.uint64).reshape(len(r), 2)[:, 0] & np.uint64(0x7FF)  # the 11 bits under float64's 53
    v = r.astype(np.float64)
    negative = rows[at, 0] == ord("-")
    v[negative] = -v[negative]
    values[at] = v
    midpoint = at[low == np.uint64(0x400)]
    done[midpoint] = False
    values[midpoint] = 0.0
    return values, done


def _group(words: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(codes, first)``: equal rows of ``words`` (uint64), equal codes ``0..k-1``; ``first[c]``
    a row of code ``c``. Rows are grouped by a hash and then compared with their group's
    first row: a row that differs (a collision) gets a code of its own."""
    key = hash_words(words)
    values = np.sort(key)
    values = values[np.r_[True, values[1:] != values[:-1]]]
    codes = np.searchsorted(values, key)
    first = np.empty(len(values), np.int64)
    first[codes[::-1]] = np.arange(len(key))[::-1]  # the first row of each code
    differ = np.zeros(len(key), bool)
    for j in range(words.shape[1]):  # column by column: faster than a 2-D comparison and any()
        differ |= words[:, j] != words[first, j][codes]
    differ = np.flatnonzero(differ)
    if len(differ):  # a hash collision: those rows each a code of their own
        codes[differ] = len(first) + np.arange(len(differ))
        first = np.r_[first, differ]
    return codes, first
