"""Heads. Importing this package registers them."""

from .ctc import CTCHead

__all__ = ["CTCHead"]
