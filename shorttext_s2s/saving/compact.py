"""Saving and loading, one owner for every model class.

:class:`CompactIOMachine` gives a class ``save_compact_model`` / ``load_compact_model`` /
``savemodel`` / ``loadmodel`` (the shorttext names) through two hooks: ``to_model_file``
describes the object as a :class:`~shorttext_s2s.saving.container.ModelFile`, and the class
method ``from_model_file`` builds an object from one (:mod:`~shorttext_s2s.saving.description`
says what its sections hold).
"""

from __future__ import annotations

import os
from typing import Type, TypeVar

from ..catalog import MODEL_SUFFIX
from ..exceptions import PathLike
from .container import ModelFile, read_model_file, write_model_file

__all__ = ["CompactIOMachine", "prefix_path", "load_compact"]

Machine = TypeVar("Machine", bound="CompactIOMachine")


def prefix_path(prefix: PathLike) -> str:
    """The file that ``savemodel(prefix)`` writes and ``loadmodel(prefix)`` reads."""
    return os.fspath(prefix) + MODEL_SUFFIX


def load_compact(cls: Type[Machine], path: PathLike, compact: bool = True) -> Machine:
    """Load an object of class ``cls`` from a file written by its ``save_compact_model``.

    Args:
        cls: the class (its name is the file's kind).
        path: the file (``compact=True``) or the prefix given to ``savemodel``.
        compact: whether ``path`` is a compact file rather than a prefix.

    Raises:
        ModelFileError: the file is missing, damaged, of another kind or invalid.
    """
    path = os.fspath(path) if compact else prefix_path(path)
    contents = read_model_file(path, kind=cls.__name__)
    return cls.from_model_file(contents, path)


class CompactIOMachine:
    """Gives a model class the shorttext save and load methods through two hooks.

    A subclass implements :meth:`to_model_file` and the class method
    :meth:`from_model_file`; the four methods below are the same for every model.
    """

    def to_model_file(self, final: bool = False) -> ModelFile:
        """Describe this object as the contents of a model file (weights and description).

        Args:
            final: leave out what only further training needs (the optimizer state).
        """
        raise NotImplementedError

    @classmethod
    def from_model_file(cls: Type[Machine], contents: ModelFile, path: str) -> Machine:
        """Build an object from a read model file (``path`` names it in errors)."""
        raise NotImplementedError

    def save_compact_model(self, path: PathLike, final: bool = False) -> None:
        """Save the whole model to one file (weights, description, optimizer state).

        The file is written beside ``path`` and renamed over it when complete: an interrupted
        save leaves any previous file intact.

        Args:
            path: the file to write (conventionally ending in ``.h5``).
            final: if true, leave out the optimizer state (enough for inference only).

        Raises:
            ModelNotTrainedException: nothing to save yet.
        """
        write_model_file(path, self.to_model_file(final=final))

    def load_compact_model(self, path: PathLike) -> None:
        """Replace this object's model with a file's, written by :meth:`save_compact_model`.

        This object changes only once the whole file has loaded: a bad file leaves it as it
        was.

        Raises:
            ModelFileError: the file is missing, damaged, of another kind or does not fit.
        """
        self._replace_with(load_compact(type(self), path), os.fspath(path))

    def savemodel(self, prefix: PathLike, final: bool = False) -> str:
        """Save to ``prefix + MODEL_SUFFIX``, as :meth:`save_compact_model` does.

        Returns:
            The path written.
        """
        path = prefix_path(prefix)
        self.save_compact_model(path, final=final)
        return path

    def loadmodel(self, prefix: PathLike) -> None:
        """Load what :meth:`savemodel` wrote with the same ``prefix`` into this object."""
        self.load_compact_model(prefix_path(prefix))

    def _replace_with(self: Machine, loaded: Machine, path: str) -> None:
        vars(self).clear()
        vars(self).update(vars(loaded))
