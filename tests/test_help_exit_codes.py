"""Each command's ``--help`` lists the exit codes that command can return, and no other
(issue 23, item 19); ``resim --help`` lists them all. docs/exit-codes.md says which
command returns which code; the expectations below are written from it, not read from
resim's own table."""

from __future__ import annotations

import re

import click
import pytest
from click.testing import CliRunner

from resim.cli import main
from resim.errors import EXIT_CODES

# Every command: success, a bug, a usage error, out of memory, Ctrl-C.
ANY = {0, 1, 2, 11, 130}
EXPECTED = {
    "solve": ANY | {3, 4, 5, 6, 10},  # reads a netlist, solves it, may write -o
    "sweep": ANY | {3, 4, 5, 6, 10},  # the same, many times; -o and --plot
    "compare-with-ngspice": ANY | {3, 4, 5, 6, 8, 9, 10},  # ngspice failed or no comparison (8), the answers differ (9), --keep unwritable (10)
    "train": ANY | {3, 7, 10},  # a bad run.toml (3), the dataset (7), the run folder (10)
    "evaluate": ANY | {3, 7, 8},  # 3: a bad --hardware profile; 8: --ngspice without a working ngspice
    "export": ANY | {3, 7},  # 3: a bad --hardware profile
    "plot": ANY | {10},
    "gdu": ANY | {3, 7, 10},  # a bad run.toml (3), its dataset (7), --plot unwritable (10)
    "serve": ANY,
    "synth relu": ANY | {6, 10},  # the check solves the circuit (6); -o (10)
    "synth pwl": ANY | {6, 10},
    "synth": ANY | {6, 10},  # the group: its commands' codes
}


def _commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """The path of every command and group under ``group``."""
    paths = []
    for name, command in group.commands.items():
        paths.append((*prefix, name))
        if isinstance(command, click.Group):
            paths += _commands(command, (*prefix, name))
    return paths


COMMANDS = _commands(main)


def _help(*path: str) -> str:
    result = CliRunner().invoke(main, [*path, "--help"], terminal_width=200)
    assert result.exit_code == 0, result.output
    return result.output


def listed_codes(help_text: str) -> list[int]:
    """The codes of the help's "Exit codes" section, in order (its lines are ``  CODE  meaning``)."""
    section = help_text.split("Exit codes", 1)[1]
    return [int(m.group(1)) for m in re.finditer(r"^ +(\d+) +\S", section, re.MULTILINE)]


def test_every_command_is_expected():
    assert {" ".join(p) for p in COMMANDS} == set(EXPECTED)


@pytest.mark.parametrize("path", COMMANDS, ids=" ".join)
def test_each_command_lists_its_own_exit_codes_and_no_other(path):
    text = _help(*path)
    assert listed_codes(text) == sorted(EXPECTED[" ".join(path)])
    assert "docs/exit-codes.md" in text
    for code in listed_codes(text):  # each with its meaning from the one table
        assert re.search(rf"^ +{code} +{re.escape(EXIT_CODES[code][:40])}", text, re.MULTILINE)


def test_resim_help_lists_every_exit_code():
    text = _help()
    assert listed_codes(text) == sorted(EXIT_CODES) == sorted(set().union(*EXPECTED.values()))
    assert "docs/exit-codes.md" in text


def test_the_meanings_shown_to_one_command_do_not_name_another():
    """A command's list says what its codes mean, not what they mean for other commands."""
    for path in COMMANDS:
        section = _help(*path).split("Exit codes", 1)[1]
        others = [" ".join(p) for p in COMMANDS if p[0] != path[0]]
        assert not [name for name in others if re.search(rf"\b{re.escape(name)}\b", section)], path
