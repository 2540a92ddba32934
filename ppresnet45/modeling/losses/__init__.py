"""Losses. Importing this package registers them."""

from .abinet import CELoss  # noqa: F401
from .ctc import CTCLoss
from .visionlan import VLLoss  # noqa: F401

__all__ = ["CTCLoss"]
