"""Exception types that carry one-line, user-facing messages.

Every error a user can cause with bad input (a config key, a file, a value) is raised
as a :class:`PPResNetError` subclass whose message names the offending key, file or
value and what was expected. The CLI prints ``error: <message>`` for these and exits
non-zero without a traceback (``--debug`` shows it).
"""


class PPResNetError(Exception):
    """Base class of all user-facing errors in ppresnet45."""


class ConfigError(PPResNetError, ValueError):
    """A config file, key or value is wrong."""


class RegistryError(PPResNetError, KeyError):
    """A registry lookup or build failed (unknown name, bad keyword)."""

    def __str__(self):  # KeyError would otherwise quote the message
        return str(self.args[0]) if self.args else ""


class ModelDirError(PPResNetError, FileNotFoundError):
    """An inference-model directory is missing or incomplete."""


class DataError(PPResNetError, ValueError):
    """A data file (image, label file, dictionary, LMDB) is missing or malformed."""
