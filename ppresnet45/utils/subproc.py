"""Run a child process safely from a process that may have trained with Paddle.

A ``paddle.io.DataLoader`` with worker processes installs a process-wide SIGCHLD handler that
calls into Paddle's C++ worker bookkeeping whenever *any* child exits, and never removes it.
A child of ours (the NNCF quantizer) exiting later then runs that handler against stale worker
state; in a long-lived process that had used workers this crashed with SIGSEGV. While our
child runs, SIGCHLD has its default disposition again (no handler), then the old one is back.
"""

import contextlib
import os
import signal
import subprocess
import threading

# The script that launchers needing a file path run (paddle.distributed.launch): ``ppresnet45 COMMAND``.
LAUNCH_SCRIPT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "_launch", "run.py")


@contextlib.contextmanager
def default_sigchld():
    """SIGCHLD at its default disposition for the block (main thread only: elsewhere a no-op)."""
    if not hasattr(signal, "SIGCHLD") or threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    try:
        yield
    finally:
        signal.signal(signal.SIGCHLD, previous if previous is not None else signal.SIG_DFL)


def run_child(argv, **kwargs):
    """``subprocess.run(argv, **kwargs)`` with SIGCHLD at its default while the child runs."""
    with default_sigchld():
        return subprocess.run(argv, **kwargs)
