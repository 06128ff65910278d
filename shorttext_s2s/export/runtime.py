"""Decode with an exported ONNX model, with NumPy and ONNX Runtime only.

``shorttext-s2s export MODEL OUT.onnx --format onnx`` (or
:func:`~shorttext_s2s.export.export_model`) writes the encoder and the whole decoding loop as
one ONNX file; :class:`OnnxDecoder` encodes texts into ids and the outputs back into texts,
as the library does, and runs the file with ONNX Runtime. This module imports neither Keras
nor a backend: the package installed without its dependencies (they are the training stack),
NumPy and ONNX Runtime are all it needs (``pip install --no-deps shorttext-s2s && pip install
numpy onnxruntime``; the ``runtime`` extra names ONNX Runtime).
"""

from __future__ import annotations

import json
import os
from typing import List, Optional, Sequence, Tuple

import numpy as np

from ..catalog import ONNX_METADATA_KEY
from ..encoder import SentenceToCharVecEncoder
from ..exceptions import ModelFileError, ModelFileNotFoundError, PathLike
from ..extras import import_extra
from ..vocabulary import PAD_ID

__all__ = ["OnnxDecoder"]


class OnnxDecoder:
    """An exported ONNX model, ready to decode texts.

    Args:
        path: the ``.onnx`` file written by the export.
        threads: threads ONNX Runtime computes with. Defaults to its own choice (the cores).
        batch_size: most inputs in one run of the model; inputs of like lengths are decoded
            together. Defaults to 256.

    Attributes:
        encoder: the model's :class:`~shorttext_s2s.encoder.SentenceToCharVecEncoder`.
        maxlen: the model's ``maxlen``: inputs are read up to ``maxlen - 1`` units.
        strategy: the decoding built into the file: ``{"name": "greedy"}`` or
            ``{"name": "beam", "beam_width": ..., "length_penalty": ...}``.

    Raises:
        ModelFileNotFoundError: no file at ``path``.
        ModelFileError: the file is not an ONNX export of this library.
        MissingExtraError: ONNX Runtime is not installed (the ``runtime`` extra).

    Example::

        decoder = OnnxDecoder("fra-eng.onnx")
        decoder.decode_batch(["Go.", "Hi."])   # ['Va !', 'Salut !']
    """

    def __init__(self, path: PathLike, *, threads: Optional[int] = None,
                 batch_size: int = 256) -> None:
        onnxruntime = import_extra("onnxruntime", "runtime", "decoding with an ONNX export")
        path = os.fspath(path)
        if not os.path.isfile(path):
            raise ModelFileNotFoundError(path)
        options = onnxruntime.SessionOptions()
        if threads is not None:
            options.intra_op_num_threads = int(threads)
        try:
            self.session = onnxruntime.InferenceSession(
                path, options, providers=["CPUExecutionProvider"])
            settings = json.loads(
                self.session.get_modelmeta().custom_metadata_map[ONNX_METADATA_KEY])
        except KeyError:
            raise ModelFileError(path, "an ONNX model without the library's settings; export "
                                       "it with 'shorttext-s2s export --format onnx'") from None
        except Exception as exc:  # ONNX Runtime's own errors have no common base class
            raise ModelFileError(path, f"not a readable ONNX model ({exc})") from None
        try:
            self.encoder = SentenceToCharVecEncoder.from_config(settings["encoder"])
            self.maxlen = int(settings["maxlen"])
            self.reverse_input = bool(settings["reverse_input"])
            self.strategy = dict(settings["strategy"])
            if not isinstance(self.strategy.get("name"), str) or self.maxlen < 2:
                raise ValueError(f"strategy {self.strategy!r}, maxlen {self.maxlen}")
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            # The settings are JSON from the file: any of them may be missing or of a kind
            # that is no setting.
            raise ModelFileError(path, f"the library's settings in the ONNX model are "
                                       f"invalid ({type(exc).__name__}: {exc})") from None
        self.batch_size = int(batch_size)
        self._input = self.session.get_inputs()[0].name

    def decode_batch(self, texts: Sequence[str],
                     features: Optional[Sequence[Optional[str]]] = None) -> List[str]:
        """The output of each text (with its tags, for a model trained with features)."""
        return [found[0][0] for found in self.decode_scored(texts, features)]

    def decode_scored(self, texts: Sequence[str],
                      features: Optional[Sequence[Optional[str]]] = None
                      ) -> List[List[Tuple[str, float]]]:
        """Each text's outputs with their log-probabilities, best first: one for greedy
        decoding, the distinct possible candidates of the beam for beam search (as
        :meth:`~shorttext_s2s.CharBasedSeq2SeqGenerator.decode_nbest` gives them).

        Raises:
            TypeError: ``texts`` is not a sequence of ``str``.
            ValueError: ``features`` does not give one entry per text.
        """
        if isinstance(texts, str) or not all(isinstance(text, str) for text in texts):
            raise TypeError("`texts` must be a sequence of str.")
        input_ids = self.encoder.encode_sources(list(texts), self.maxlen,
                                                reverse=self.reverse_input,
                                                features=features)
        # Inputs of like lengths together: a batch runs until its longest output ends.
        order = np.argsort((input_ids != PAD_ID).sum(axis=1), kind="stable")
        results: List[List[Tuple[str, float]]] = [[] for _ in range(len(texts))]
        for start in range(0, len(order), self.batch_size):
            rows = order[start:start + self.batch_size]
            ids, log_probs, _ = self.session.run(None, {self._input: input_ids[rows]})
            for row, candidates, scores in zip(rows, ids, log_probs):
                results[row] = self.encoder.decode_candidates(candidates, scores.tolist())
        return results

    def __repr__(self) -> str:
        options = ", ".join(f"{key}={value!r}" for key, value in self.strategy.items()
                            if key != "name")
        return (f"OnnxDecoder({self.strategy['name']}{', ' + options if options else ''}, "
                f"maxlen={self.maxlen}, units={len(self.encoder.characters)})")

