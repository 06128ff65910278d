"""Optional dependencies, imported only when a feature needs them.

The core library needs Keras, NumPy and h5py only. A few features need more (the demo corpus,
plotting); they are installed as extras of the package, and :func:`import_extra` turns a missing
one into an error that says which extra to install.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from .exceptions import ShorttextS2SError

__all__ = ["MissingExtraError", "import_extra"]

#: Distribution name, as ``pip install`` spells it.
DISTRIBUTION = "shorttext-s2s"


class MissingExtraError(ShorttextS2SError, ImportError):
    """An optional dependency is not installed.

    Args:
        module: the module that could not be imported.
        extra: the extra of the package that installs it.
        purpose: what needed it, for the message.

    Attributes:
        module: as given.
        extra: as given.
    """

    def __init__(self, module: str, extra: str, purpose: str) -> None:
        self.module = module
        self.extra = extra
        super().__init__(f"{purpose} needs the optional package {module!r}, which is not "
                         f"installed; install it with: pip install '{DISTRIBUTION}[{extra}]'",
                         name=module)


def import_extra(module: str, extra: str, purpose: str) -> ModuleType:
    """Import an optional module, or explain how to install it.

    Args:
        module: dotted module name, e.g. ``"matplotlib.pyplot"``.
        extra: the package extra that provides it, e.g. ``"plot"``.
        purpose: what needs it, e.g. ``"--plot"``; starts the error message.

    Returns:
        The imported module.

    Raises:
        MissingExtraError: the module (or its top-level package) is not installed.

    Example:

    >>> import_extra("json", "none", "this example").__name__
    'json'
    """
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        # Only a missing optional package is the user's to fix with pip; a module missing
        # inside an installed package is a real bug and keeps its traceback.
        if exc.name is not None and module.split(".")[0] == exc.name.split(".")[0]:
            raise MissingExtraError(exc.name, extra, purpose) from None
        raise
