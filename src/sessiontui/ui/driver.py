"""A terminal driver whose input thread sleeps until a key arrives.

Textual's ``LinuxDriver`` (also used on macOS) reads the terminal on a thread that wakes every
0.1 s to give its escape-sequence parser a chance to time out (a lone Escape is only known to be
Escape once nothing follows it). Ten wake-ups a second cost an idle app 0.13 to 0.5 % of a core
(``benchmarks/idle_cpu.py``), more than everything else sessiontui does while nothing changes.

:class:`QuietDriver` keeps those 0.1 s ticks only for :data:`TICK_AFTER_INPUT_S` after the last
byte read, which covers every parser timeout, and otherwise blocks in ``select`` until the
terminal has input or the driver asks the thread to stop (through a pipe, see
:class:`WakingEvent`). Everything else (modes, resize, suspend, writer thread) is Textual's.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import threading
import time
from codecs import getincrementaldecoder
from typing import TYPE_CHECKING, Any

from textual._parser import ParseError
from textual._xterm_parser import XTermParser
from textual.drivers.linux_driver import LinuxDriver

if TYPE_CHECKING:
    from textual.app import App

#: Seconds after the last input during which the parser is ticked every :data:`TICK_S`.
TICK_AFTER_INPUT_S = 1.0
#: Seconds between parser ticks while input is recent (Textual's own interval).
TICK_S = 0.1


class WakingEvent(threading.Event):
    """A ``threading.Event`` that also writes a byte to a pipe when set.

    The input thread selects on :attr:`wake_fd` next to the terminal, so setting the event
    (Textual's ``disable_input`` does, then joins the thread) ends a ``select`` that has no
    timeout. The pipe is non-blocking and close-on-exec; it lives as long as the driver.
    """

    def __init__(self) -> None:
        super().__init__()
        self.wake_fd, self._write_fd = os.pipe()
        os.set_blocking(self.wake_fd, False)
        os.set_blocking(self._write_fd, False)

    def set(self) -> None:
        """Set the event and wake a thread blocked on :attr:`wake_fd`."""
        super().set()
        with contextlib.suppress(BlockingIOError):  # a full pipe wakes the thread anyway
            os.write(self._write_fd, b"\0")

    def drain(self) -> None:
        """Read every pending wake byte (so the next ``select`` can block again)."""
        try:
            while os.read(self.wake_fd, 4096):
                pass
        except BlockingIOError:
            pass


class QuietDriver(LinuxDriver):
    """``LinuxDriver`` with an input thread that blocks while the user types nothing.

    Raises nothing beyond ``LinuxDriver``; the thread ends when :attr:`exit_event` is set.
    """

    def __init__(
        self,
        app: App[Any],
        *,
        debug: bool = False,
        mouse: bool = True,
        size: tuple[int, int] | None = None,
    ) -> None:
        super().__init__(app, debug=debug, mouse=mouse, size=size)
        self.exit_event: WakingEvent = WakingEvent()

    def run_input_thread(self) -> None:
        """Read the terminal, feed Textual's parser and post its events until asked to stop."""
        wake = self.exit_event
        selector = selectors.DefaultSelector()
        selector.register(self.fileno, selectors.EVENT_READ, "terminal")
        selector.register(wake.wake_fd, selectors.EVENT_READ, "wake")
        parser = XTermParser(self._debug)
        decode = getincrementaldecoder("utf-8")().decode
        last_input = time.monotonic()
        reading = True
        try:
            while not wake.is_set():
                recent = time.monotonic() - last_input < TICK_AFTER_INPUT_S
                for key, _mask in selector.select(TICK_S if recent else None):
                    if key.data == "wake":
                        wake.drain()
                        continue
                    text = decode(os.read(self.fileno, 4096))
                    if not text:  # end of file: stdin is not a terminal any more
                        selector.unregister(self.fileno)
                        reading = False
                        continue
                    last_input = time.monotonic()
                    for event in parser.feed(text):
                        self.process_message(event)
                for event in parser.tick():
                    self.process_message(event)
        finally:
            selector.close()
            wake.drain()
            if reading:
                try:
                    for _event in parser.feed(""):
                        pass
                except (EOFError, ParseError):  # an unfinished sequence at exit; nothing waits
                    pass
