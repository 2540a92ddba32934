"""Heads. Importing this package registers them."""

from .abinet import ABINetHead  # noqa: F401 - imported to register it
from .ctc import CTCHead
from .visionlan import VLHead  # noqa: F401 - imported to register it

__all__ = ["CTCHead"]
