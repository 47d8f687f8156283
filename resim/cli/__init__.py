"""The ``resim`` command: a thin shell over :mod:`resim.api` and its relatives.

This package holds the click group (:func:`main`) and the entry points (:func:`run_args`,
:func:`run`); the commands are in :mod:`resim.cli.simulate` (solve, sweep,
compare-with-ngspice), :mod:`resim.cli.train` (train, evaluate, export, plot, gdu),
:mod:`resim.cli.synth` and :mod:`resim.cli.serve`, what they share in
:mod:`resim.cli.common`. Library errors become messages on stderr and the exit codes of
:mod:`resim.errors` (:func:`resim.cli.common.run_group`); no Python traceback is shown
unless ``RESIM_DEBUG=1``. Heavy modules (numpy, scipy, lark, matplotlib, torch) are
imported by a command when it runs, never here.
"""

from __future__ import annotations

import sys

import click

from ..errors import EXIT_CODES, exit_codes_of
from . import serve, simulate, synth, train
from .common import exit_help, run_group


@click.group(context_settings={"help_option_names": ["-h", "--help"]}, epilog=exit_help(EXIT_CODES))
@click.version_option(package_name="resim")
def main() -> None:
    """resim: simulate nonlinear resistive networks from SPICE-style netlists.

    \b
    Examples:
      resim solve netlists/divider.cir
      resim solve netlists/ideal_rectifier.cir --format json --output op.json
      resim solve netlists/diode_clipper.cir --set vin=1.2 --set R1=2k
      resim sweep netlists/diode_clipper.cir --probe 'v(out)'
      resim compare-with-ngspice netlists/ideal_rectifier.cir
    """


def run_args(args: list[str] | None = None) -> int:
    """Run the command line ``args`` (default: ``sys.argv[1:]``); the exit code, errors
    already reported on stderr (the console script and ``resim serve`` both use this)."""
    return run_group(main, args)


def run() -> None:
    """Entry point with error mapping (``python -m resim.cli``)."""
    sys.exit(run_args())


def _list_exit_codes(group: click.Group, prefix: str = "") -> None:
    """Give each command under ``group`` the epilog that lists its own exit codes
    (:func:`resim.errors.exit_codes_of`; all of them for a command not declared there)."""
    for name, command in group.commands.items():
        try:
            codes = exit_codes_of(prefix + name)
        except KeyError:
            codes = EXIT_CODES
        command.epilog = exit_help(codes)
        if isinstance(command, click.Group):
            _list_exit_codes(command, f"{prefix}{name} ")


for _command in (simulate.solve, simulate.sweep, train.train, train.evaluate, train.export,  # as they were declared
                 serve.serve_command(run_args), train.plot_runs, synth.synth, simulate.compare_with_ngspice,
                 train.gdu):
    main.add_command(_command)
_list_exit_codes(main)
