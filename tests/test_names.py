"""Lazily decoded netlist text and element names (resim/netlist/text.py, names.py) against
plain Python lists: every line, every name, slices, duplicates and look-ups agree."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from resim.netlist.names import LineNames, Names, hash_name
from resim.netlist.text import NetlistText

LINES = st.lists(st.text(st.characters(blacklist_characters="\n\r", blacklist_categories=("Cs",)), max_size=12),
                 max_size=8)


@given(lines=LINES, final_newline=st.booleans(), crlf=st.booleans())
def test_lines_are_the_text_split_at_newlines(lines, final_newline, crlf):
    text = ("\r\n" if crlf else "\n").join(lines) + ("\n" if final_newline else "")
    expected = text.replace("\r\n", "\n").split("\n")
    got = NetlistText.from_str(text)
    assert len(got) == len(expected) and list(got) == expected and got == expected
    assert got[1:3] == expected[1:3] and got[-1] == expected[-1]
    assert pickle.loads(pickle.dumps(got)) == got


def test_undecodable_bytes_read_as_the_whole_file_decoded_with_replace():
    data = b"t\xff\n\xe2\x82\nok\r\nlast"
    assert list(NetlistText(data)) == data.replace(b"\r\n", b"\n").decode("utf-8", "replace").split("\n")


WORDS = st.text("abr_0123", min_size=1, max_size=10)


def _names(parts: list[tuple[bool, list[str]]]) -> tuple[Names, list[str]]:
    """Names of blocks, each a list of strings or LineNames over a file holding them."""
    names, flat = Names(), []
    for as_lines, block in parts:
        flat += block
        if as_lines:
            text = NetlistText.from_str("".join(f"{n} a 0 1\n" for n in block))
            line = np.arange(len(block), dtype=np.int32)
            length = np.array([len(n) for n in block], np.uint8)
            key = np.array([hash_name(n) for n in block], np.uint64)
            names.add(LineNames(text, line, length, key))
        else:
            names.add(list(block))
    return names, flat


PARTS = st.lists(st.tuples(st.booleans(), st.lists(WORDS, max_size=6)), max_size=5)


def _first_duplicate(flat: list[str]):
    seen: dict[str, int] = {}
    for k, n in enumerate(flat):
        if n in seen:
            return seen[n], k
        seen[n] = k
    return None


@settings(max_examples=200)
@given(parts=PARTS, lo=st.integers(-3, 20), hi=st.integers(-3, 20))
def test_names_are_the_list_of_their_blocks(parts, lo, hi):
    names, flat = _names(parts)
    assert len(names) == len(flat) and list(names) == flat and names == flat and flat == names
    assert [names[k] for k in range(-len(flat), len(flat))] == flat + flat if flat else True
    assert list(names[lo:hi]) == flat[lo:hi] and names[lo:hi] == flat[lo:hi]
    assert list(names + ["zz"]) == flat + ["zz"] and list(["zz"] + names) == ["zz"] + flat
    assert names.first_duplicate() == _first_duplicate(flat)
    for name in set(flat) | {"nope"}:
        if name in flat:
            assert names.index(name) == flat.index(name)
        else:
            with pytest.raises(ValueError):
                names.index(name)


def test_names_whose_hashes_collide_are_compared_as_names(monkeypatch):
    monkeypatch.setattr("resim.netlist.names.hash_name", lambda name: 7)  # every hash the same
    text = NetlistText.from_str("ra a 0 1\nrb a 0 1\nra2 a 0 1\n")
    same = np.full(3, 7, np.uint64)  # only the names can tell
    names = Names([LineNames(text, np.arange(3, dtype=np.int32), np.array([2, 2, 3], np.uint8), same)])
    assert names.first_duplicate() is None and names.index("rb") == 1
    names.add(["rb"])
    assert names.first_duplicate() == (1, 3)


def test_out_of_range():
    names, _ = _names([(True, ["r1"]), (False, ["r2"])])
    with pytest.raises(IndexError):
        names[2]
    with pytest.raises(IndexError):
        NetlistText.from_str("a\nb")[2]


@settings(max_examples=100)
@given(parts=PARTS)
def test_names_as_bytes_are_their_utf8(parts):
    names, flat = _names([(as_lines, [n.upper() if as_lines else n for n in block]) for as_lines, block in parts])
    got = names.as_bytes()
    assert got.astype(object).tolist() == [n.lower().encode() for n in flat] if flat else len(got) == 0


@pytest.mark.parametrize("threaded", [False, True])
def test_equal_hashes_are_found_on_one_thread_or_two(monkeypatch, threaded):
    from resim.netlist import names as names_mod

    monkeypatch.setattr(names_mod, "THREADED_SORT", 4 if threaded else 1 << 40)
    rng = np.random.default_rng(0)
    keys = rng.integers(0, 2**64 - 1, 1000, dtype=np.uint64)
    assert not names_mod._any_equal(keys)
    for a, b in ((3, 900), (10, 11)):
        same = keys.copy()
        same[a] = same[b]
        assert names_mod._any_equal(same)
    top = np.array([2**63 + 5, 7, 2**63 + 5], np.uint64)  # equal keys in the upper half
    assert names_mod._any_equal(top) and not names_mod._any_equal(top[:2])
