"""Data: pre-processing, transforms, datasets, loaders and the synthetic text-line renderer.

Importing this package registers the data transforms and datasets.
"""
