"""The module paths of earlier releases, kept working for one release with a warning.

Each old module is a few lines: its names are looked up in the module that holds them now
(PEP 562), and each lookup warns with :class:`DeprecationWarning`, naming the new path.
"""

from __future__ import annotations

import importlib
import warnings
from typing import Any, Callable, List, Tuple

#: The release from which the old paths are gone.
REMOVED_IN = "0.3.0"


def moved(old: str, new: str, names: Tuple[str, ...] = ()
          ) -> Tuple[Callable[[str], Any], Callable[[], List[str]]]:
    """The ``__getattr__`` and ``__dir__`` of the old module ``old``, whose names now live in
    ``new``; ``names`` lists those that went elsewhere, as ``"name=module"`` or, renamed,
    ``"name=module:new_name"``."""
    elsewhere = dict(name.split("=") for name in names)

    def __getattr__(name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        target, _, new_name = elsewhere.get(name, new).partition(":")
        new_name = new_name or name
        module = importlib.import_module(target)
        if not hasattr(module, new_name):
            raise AttributeError(f"module {old!r} has no attribute {name!r}")
        warnings.warn(f"{old} is deprecated: import {new_name} from {target} (the old path "
                      f"goes in {REMOVED_IN})", DeprecationWarning, stacklevel=2)
        return getattr(module, new_name)

    def __dir__() -> List[str]:
        names_here = set(elsewhere)
        names_here.update(getattr(importlib.import_module(new), "__all__", ()))
        return sorted(names_here)

    return __getattr__, __dir__
