"""The Keras example's decoding loop, written against this library's inference models.

The test oracle for the compiled decoder: it uses only ``encoder_model`` and
``decoder_model`` (Keras's own LSTM layers), one decoder call per output character, feeding
each input as the one-hot of its text plus the end signal without padding, exactly like the
example's ``decode_sequence``. Reserved ids (padding, unknown) are excluded from the argmax,
as the library promises never to emit them.
"""

from __future__ import annotations

from typing import List, Sequence, Tuple

import numpy as np

from shorttext_s2s.encoder import PAD_ID, UNK_ID

_RESERVED = [PAD_ID, UNK_ID]


def _input_ids(generator, text: str) -> np.ndarray:
    ids = generator.encoder.encode_ids(text, generator.maxlen, endsig=True)
    return ids[ids != PAD_ID]


def _argmax(probs: np.ndarray) -> np.ndarray:
    probs = np.array(probs, dtype=np.float32)
    probs[..., _RESERVED] = -1.0
    return probs.argmax(axis=-1)


def seed_decode(generator, text: str) -> str:
    """Greedy-decode one text with ``predict()`` once per character (the example's loop)."""
    s2s, encoder = generator.seq2seq, generator.encoder
    states = s2s.encoder_model.predict(encoder.onehot(_input_ids(generator, text))[None],
                                       verbose=0)
    token = encoder.signal_id
    decoded = ""
    while len(decoded) < generator.maxlen - 1:
        probs, h, c = s2s.decoder_model.predict([encoder.onehot([[token]])] + list(states),
                                                verbose=0)
        token = int(_argmax(probs[0, -1]))
        if token == encoder.signal_id:
            break
        decoded += encoder.decode_ids([token])
        states = [h, c]
    return decoded


def seed_decode_many(generator, texts: Sequence[str]) -> List[str]:
    """The same loop for many texts, with the same arithmetic batched to be fast.

    The inputs are encoded in one call, padded to ``maxlen``: the model's Masking layer makes
    the padding steps no-ops (:func:`seed_decode` checks the unpadded form). The decoder then
    runs one call per step on all rows; a row's output is cut at its first end signal. Fixed
    shapes keep backends that compile per shape (JAX) from compiling per call.
    """
    s2s, encoder = generator.seq2seq, generator.encoder
    inputs = encoder.encode_sentences(list(texts), generator.maxlen, sparse=False, endsig=True)
    h, c = s2s.encoder_model.predict_on_batch(inputs)
    token = np.full((len(texts),), encoder.signal_id)
    outputs = np.zeros((len(texts), generator.maxlen - 1), np.int64)
    finished = np.zeros((len(texts),), bool)
    for step in range(generator.maxlen - 1):
        probs, h, c = s2s.decoder_model.predict_on_batch(
            [encoder.onehot(token[:, None]), h, c])
        token = _argmax(np.asarray(probs)[:, -1])
        outputs[:, step] = np.where(finished, PAD_ID, token)
        finished |= token == encoder.signal_id
        if finished.all():
            break
    return [encoder.decode_ids(row) for row in outputs]


def teacher_forced_log_probs(generator, pairs: Sequence[Tuple[str, str]]
                             ) -> Tuple[np.ndarray, np.ndarray]:
    """Score ``(input, output)`` pairs with the training model (teacher forcing).

    The output is scored followed by the end signal unless it has the maximum length
    (``maxlen - 1`` characters), where decoding stops without one. Probabilities are
    renormalised without the reserved ids.

    Returns:
        ``(log_probs, lengths)``: per pair, the log-probability and the number of ids scored.
    """
    encoder, maxlen = generator.encoder, generator.maxlen
    sources = encoder.encode_sentences([s for s, _ in pairs], maxlen, endsig=True)
    decoder_in = encoder.encode_sentences([o for _, o in pairs], maxlen, startsig=True)
    probs = np.asarray(generator.seq2seq.model.predict_on_batch(
        [encoder.onehot(sources), encoder.onehot(decoder_in)]), dtype=np.float64)
    log_probs, lengths = [], []
    for row, (_, output) in enumerate(pairs):
        targets = [encoder.char_id(char) for char in output]
        if len(output) < maxlen - 1:
            targets.append(encoder.signal_id)
        p = probs[row, :len(targets)]
        p = p / np.delete(p, _RESERVED, axis=1).sum(axis=1, keepdims=True)
        log_probs.append(float(np.log(p[np.arange(len(targets)), targets]).sum()))
        lengths.append(len(targets))
    return np.array(log_probs), np.array(lengths)
