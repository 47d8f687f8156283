"""``python -m resim ARGS``: the ``resim`` command, for scripts that run it with a given
interpreter (bench/reproduce_table.py runs its training this way)."""

from resim._launch import main

main()
