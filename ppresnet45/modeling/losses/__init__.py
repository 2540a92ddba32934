"""Losses. Importing this package registers them."""

from .abinet import CELoss  # noqa: F401 - imported to register it
from .ctc import CTCLoss
from .visionlan import VLLoss  # noqa: F401 - imported to register it

__all__ = ["CTCLoss"]
