"""Necks. Importing this package registers them."""

from .sequence import SequenceEncoder

__all__ = ["SequenceEncoder"]
