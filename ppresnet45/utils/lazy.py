"""Names of a package that are imported on first access (PEP 562), so importing the package stays cheap."""

import importlib


def lazy_exports(package, table, namespace):
    """``(__getattr__, __dir__)`` for ``package`` whose names in ``table`` (name -> submodule,
    relative to the package) are imported when first used and then kept in ``namespace``
    (the package's ``globals()``)."""

    def __getattr__(name):
        if name in table:
            value = getattr(importlib.import_module(f"{package}.{table[name]}"), name)
            namespace[name] = value
            return value
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__():
        return sorted(set(namespace) | set(table))

    return __getattr__, __dir__
