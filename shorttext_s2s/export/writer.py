"""Writing an export: checks, then the SavedModel or the ONNX file, whole or not at all."""

from __future__ import annotations

import os
import shutil
import tempfile
from typing import Any, Union

import keras

from .. import catalog
from ..decoding import DecodingStrategy, get_strategy
from ..exceptions import ExportError, ModelNotTrainedException, PathLike
from ..saving.atomic import atomic_path
from .onnx import onnx_model
from .saved_model import saved_model_module

__all__ = ["export_model"]


def export_model(generator: Any, path: PathLike, format: str = catalog.SAVED_MODEL,
                 strategy: Union[str, DecodingStrategy] = catalog.GREEDY, *,
                 jit_compile: bool = True) -> str:
    """Write ``generator``'s decoder to ``path`` in ``format``.

    Args:
        generator: a trained :class:`~shorttext_s2s.CharBasedSeq2SeqGenerator`.
        path: where to write: a directory for ``"saved_model"``, a file for ``"onnx"``;
            it must not exist yet. It appears whole or not at all.
        format: ``"saved_model"`` or ``"onnx"``.
        strategy: ``"greedy"`` (the default), ``"beam"`` or a
            :class:`~shorttext_s2s.decoding.BeamSearchStrategy` (its ``beam_width`` and
            ``length_penalty``; ``num_results`` does not apply: every candidate is
            returned). Sampling is not exported: its outputs depend on a random stream that
            a serving runtime would have to manage.
        jit_compile: compile the decoding loop with XLA, as the library does. Defaults to
            True; False for a runtime built without XLA.

    Returns:
        The path written.

    Raises:
        ExportError: the format, the strategy or the backend cannot be exported (the
            message says why); ``path`` exists.
        ModelNotTrainedException: the generator has no trained weights.
        MissingExtraError: ``"onnx"`` without tf2onnx (the ``onnx`` extra).
    """
    if format not in catalog.EXPORT_FORMATS:
        raise ExportError(f"Received an invalid value for argument `format`, expected one of "
                          f"{list(catalog.EXPORT_FORMATS)}, got {format!r}.")
    strategy = get_strategy(strategy)
    if strategy.name not in catalog.EXPORTED_STRATEGIES:
        raise ExportError(f"the {strategy.name!r} strategy is not exported: its outputs depend "
                          f"on a random stream the serving runtime would have to manage; "
                          f"export 'greedy' or 'beam'.")
    if not generator.trained:
        raise ModelNotTrainedException("exporting needs a trained or loaded model.")
    if keras.backend.backend() != "tensorflow":
        raise ExportError(f"a SavedModel is a TensorFlow graph: export under the TensorFlow "
                          f"backend (KERAS_BACKEND=tensorflow; the backend is "
                          f"{keras.backend.backend()!r}). A model file trained under any "
                          f"backend loads under TensorFlow.")
    path = os.fspath(path)
    if os.path.exists(path):
        raise ExportError(f"{path}: already exists; export to a new directory.")
    if format == catalog.ONNX:
        model = onnx_model(generator, strategy)
        with atomic_path(path) as temporary:
            with open(temporary, "wb") as handle:
                handle.write(model.SerializeToString())
        return path
    module = saved_model_module(generator, strategy, jit_compile)
    import tensorflow as tf

    # Written beside its place and renamed there once complete: a reader never sees half a
    # model, and an error or a kill leaves no directory at `path`.
    parent = os.path.dirname(os.path.abspath(path))
    temporary = tempfile.mkdtemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp",
                                 dir=parent)
    try:
        tf.saved_model.save(module, temporary,
                            signatures={"serving_default": module.serving_function})
        os.rename(temporary, path)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
    return path
