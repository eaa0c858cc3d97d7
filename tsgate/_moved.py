"""Public names that moved to another module in the restructuring of
tsgate 0.1 (the facade cut into stages): the module they were in lends them
from their new home on first use, so code written against the earlier
layout (`from tsgate.scaling import TargetTransform`) keeps working."""

import importlib


def lender(module, names):
    """A module `__getattr__` (PEP 562) for `module`: each of `names`
    {name: its new module} imported from there; any other name is the usual
    AttributeError."""

    def __getattr__(name):
        if name not in names:
            raise AttributeError(f"module {module!r} has no attribute {name!r}")
        return getattr(importlib.import_module(names[name]), name)

    return __getattr__
