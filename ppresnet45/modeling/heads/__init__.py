"""Heads. Importing this package registers them."""

from .abinet import ABINetHead  # noqa: F401
from .ctc import CTCHead
from .visionlan import VLHead  # noqa: F401

__all__ = ["CTCHead"]
