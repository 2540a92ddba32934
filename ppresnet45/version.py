"""The package version (one place; setup.py and inference.yml read it)."""

__version__ = "0.1.0"
