"""Optional dependencies, imported only when a feature needs them.

The core library needs Keras, NumPy and h5py only. A few features need more (the demo corpus,
plotting, chrF and BLEU, the JAX backend); they are installed as extras of the package, and
:func:`import_extra` and :func:`check_backend` turn a missing one into an error that says which
extra to install.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
from types import ModuleType

from .exceptions import ShorttextS2SError

__all__ = ["MissingExtraError", "import_extra", "configured_backend", "check_backend"]

#: Distribution name, as ``pip install`` spells it.
DISTRIBUTION = "shorttext-s2s"
#: The Keras backends that an extra of the package installs, by name: (module, extra).
BACKEND_EXTRAS = {"jax": ("jax", "jax")}


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


def configured_backend() -> str:
    """The Keras backend that ``import keras`` will load, found without importing Keras.

    Keras reads the ``KERAS_BACKEND`` environment variable, else the ``backend`` of
    ``keras.json`` in ``$KERAS_HOME`` (default ``~/.keras``), else uses TensorFlow.

    Returns:
        The backend's name, e.g. ``"tensorflow"`` or ``"jax"``.
    """
    if os.environ.get("KERAS_BACKEND"):
        return os.environ["KERAS_BACKEND"]
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    try:
        with open(os.path.join(home, "keras.json"), encoding="utf-8") as handle:
            backend = json.load(handle).get("backend")
    except (OSError, ValueError, AttributeError):
        # No file or an unreadable one: Keras itself falls back on its default too.
        return "tensorflow"
    return backend if isinstance(backend, str) and backend else "tensorflow"


def check_backend() -> None:
    """Fail with the extra to install when the configured backend is missing.

    Importing Keras with ``KERAS_BACKEND=jax`` and no JAX installed ends in ``No module
    named 'jax'``; this check, made before Keras is imported, names the extra instead.

    Raises:
        MissingExtraError: the backend's package is not installed.
    """
    backend = configured_backend()
    if backend in BACKEND_EXTRAS:
        module, extra = BACKEND_EXTRAS[backend]
        if importlib.util.find_spec(module) is None:
            raise MissingExtraError(module, extra, f"the {backend} backend "
                                                   f"(KERAS_BACKEND={backend})")
