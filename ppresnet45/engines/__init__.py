"""Engines that run :meth:`ppresnet45.inference.Recognizer.run` past one process.

:mod:`.ray_batch` spreads a run's inputs over Ray Data actors (``ppresnet45 infer --engine
ray``). Ray is an optional extra (``pip install ppresnet45[ray]``), imported when an engine
runs, never when this package is imported.
"""
