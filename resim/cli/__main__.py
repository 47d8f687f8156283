"""``python -m resim.cli ARGS``: the ``resim`` command run in this process (never handed to a
``resim serve``; :mod:`resim.__main__` is the console script's twin)."""

from resim.cli import run

run()
