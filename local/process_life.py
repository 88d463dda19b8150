"""How the local cloud's two processes (`make local`'s and the AWS process) start and wait to be stopped.

Starting: no garbage collection while a start builds what lives as long as the process (botocore's service
models, moto's backends, the deployed stack). Collecting while it piles up only rescans it, about a fifth
of a start; after, what was made is frozen, so later collections at load no longer walk it.

Waiting: in slices. The kernel may give a signal sent to the process (a terminal's Ctrl-C, SIGTERM) to any
of its threads, and Python runs the handler only in the main thread, once that wakes: a wait without end
would never wake, and the signal would be lost.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

SIGNAL_CHECK_SECONDS = 0.1  # how soon a signal delivered to a worker thread is seen


@contextmanager
def building_what_lasts() -> Iterator[None]:
    """No collection inside; then freeze what was made and collect as usual."""
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        gc.enable()


def wait_until_set(event: threading.Event) -> None:
    """`event.wait()`, in slices, so that a signal handler that sets it runs whichever thread got the signal."""
    while not event.wait(SIGNAL_CHECK_SECONDS):
        pass
