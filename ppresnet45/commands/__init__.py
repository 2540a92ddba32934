"""Sub-commands of the ``ppresnet45`` CLI: argument parsing only.

Each module has ``add_arguments(parser)`` and ``run(args) -> int`` and calls the pipeline
stages (:mod:`ppresnet45.training`, :mod:`ppresnet45.export`, :mod:`ppresnet45.inference`,
:mod:`ppresnet45.benchmark`). Nothing outside this package and :mod:`ppresnet45.cli`
imports it.
"""
