"""The status line of a long ``resim solve``: what it is doing, and for how long, on one
transient line of stderr, for a terminal only (the CLI makes none otherwise)."""

from __future__ import annotations

import os
import time


class Status:
    """What a long ``resim solve`` is doing, and for how long, on one transient line of
    stderr (a terminal only: the caller makes none otherwise): ``status.phase("reading
    x.cir (2.3 GB)")`` starts a phase, shown once it has taken :data:`STATUS_AFTER` seconds
    (``$RESIM_STATUS_AFTER`` changes it), so a small solve never shows one. A thread named
    ``resim-status`` redraws it five times a second; the bulk scanner's forked processes do not
    mind it (:func:`resim.netlist.bulk._chunks`)."""

    def __init__(self) -> None:
        import threading

        from rich.console import Console
        from rich.live import Live

        self.after = float(os.environ.get("RESIM_STATUS_AFTER", STATUS_AFTER))
        # redirect_stdout=False: rich's default would send the command's own output, on stdout
        # (a file the shell redirected it to), through this stderr line instead
        self.live = Live("", console=Console(stderr=True), transient=True, auto_refresh=False,
                         redirect_stdout=False, redirect_stderr=False)
        self.text, self.since, self.shown = "", time.monotonic(), False
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, name="resim-status", daemon=True)
        self.thread.start()

    def phase(self, text: str) -> None:
        self.text, self.since = text, time.monotonic()

    def _run(self) -> None:
        from rich.text import Text

        while not self.done.wait(0.2):
            elapsed = time.monotonic() - self.since
            if elapsed >= self.after and self.text:
                if not self.shown:
                    self.live.start()
                    self.shown = True
                self.live.update(Text(f"{self.text} ... {elapsed:.0f} s"), refresh=True)

    def close(self) -> None:
        self.done.set()
        self.thread.join()
        if self.shown:
            self.live.stop()


STATUS_AFTER = 3.0  # seconds a phase of resim solve runs before its status line shows
