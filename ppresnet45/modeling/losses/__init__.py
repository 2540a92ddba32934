"""Losses. Importing this package registers them."""

from .ctc import CTCLoss

__all__ = ["CTCLoss"]
