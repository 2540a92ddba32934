"""Capture what native libraries print straight to file descriptors 1 and 2.

Paddle Inference's oneDNN passes and paddle2onnx write diagnostics from C++ to the
process's stdout/stderr, which Python's ``sys.stdout`` redirection cannot see. They would
interleave with a command's own output (and break ``--json`` output), so the few calls
that print are wrapped in :func:`captured_native_output`; what was captured is kept on
the returned object for error messages.
"""

import contextlib
import os
import sys
import tempfile


class CapturedOutput:
    """Text written to fd 1/2 inside a :func:`captured_native_output` block (``.text``)."""

    def __init__(self):
        self.text = ""

    def tail(self, lines=5):
        """The last ``lines`` non-empty lines, joined with `` | `` (for one-line errors)."""
        kept = [ln.strip() for ln in self.text.splitlines() if ln.strip()]
        return " | ".join(kept[-lines:])


@contextlib.contextmanager
def captured_native_output():
    """Redirect fd 1 and 2 to a temporary file for the duration of the block.

    Yields:
        CapturedOutput: filled with the captured text when the block ends (also on error).
    """
    captured = CapturedOutput()
    try:
        fds = (sys.__stdout__.fileno(), sys.__stderr__.fileno())
    except (AttributeError, ValueError, OSError):  # no real descriptors (embedded, IDE): nothing to capture
        yield captured
        return
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        with contextlib.suppress(Exception):
            stream.flush()
    saved = [os.dup(fd) for fd in fds]
    with tempfile.TemporaryFile(mode="w+b") as sink:
        try:
            for fd in fds:
                os.dup2(sink.fileno(), fd)
            yield captured
        finally:
            for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
                with contextlib.suppress(Exception):
                    stream.flush()
            for fd, old in zip(fds, saved):
                os.dup2(old, fd)
                os.close(old)
            sink.seek(0)
            captured.text = sink.read().decode("utf-8", errors="replace")
