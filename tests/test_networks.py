"""The networks behind the generator: each learns, saves, and decodes as its Keras model says.

For every network: it learns a few dozen pairs exactly; the compiled decoder's greedy output
is the argmax of the teacher-forced Keras model on the same prefixes; beam search of width 1
is greedy and never scores below it; a saved model loads to the same outputs. The fast loop
checks the same agreements on untrained networks with random weights.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest

from shorttext_s2s import (CharBasedSeq2SeqGenerator, SentenceToCharVecEncoder,
                           loadCharBasedSeq2SeqGenerator)
from shorttext_s2s.decoding import BeamSearchStrategy, GreedyStrategy, decode_ids
from shorttext_s2s.networks import (DEFAULT_NETWORK, NETWORKS, AttentionNetwork, LSTMNetwork,
                                    TransformerNetwork, get_network)

#: Pairs written for these tests: English and French words.
PAIRS = [("one", "un"), ("two", "deux"), ("three", "trois"), ("four", "quatre"),
         ("five", "cinq"), ("six", "six"), ("seven", "sept"), ("eight", "huit"),
         ("nine", "neuf"), ("ten", "dix"), ("red", "rouge"), ("blue", "bleu"),
         ("green", "vert"), ("white", "blanc"), ("black", "noir"), ("cat", "chat"),
         ("dog", "chien"), ("house", "maison"), ("water", "eau"), ("bread", "pain")]
SOURCES = [source for source, _ in PAIRS]
PROBES = SOURCES + ["", "zebra!", "eight nine", "catdog", "x" * 30]

SETTINGS = {
    "lstm": dict(network="lstm", bidirectional=True),
    "attention": dict(network="attention", embedding_dim=16, dropout=0.0),
    "attention-2-layers": dict(network="attention", embedding_dim=16, layers=2, dropout=0.1),
    "attention-context": dict(network="attention", embedding_dim=16, context_layers=1,
                              dropout=0.0),
    "transformer": dict(network="transformer", layers=2, heads=2, dropout=0.0),
}


# Training three networks to convergence takes a while: the fast loop (-m "not slow") checks
# the same agreements on untrained weights below.
@pytest.fixture(scope="module", params=[pytest.param(name, marks=pytest.mark.slow)
                                        for name in sorted(SETTINGS)])
def trained(request):
    keras.utils.set_random_seed(11)
    encoder = SentenceToCharVecEncoder.from_texts(s + t for s, t in PAIRS)
    generator = CharBasedSeq2SeqGenerator(encoder, latent_dim=32, maxlen=12,
                                          **SETTINGS[request.param])
    generator.compile(optimizer=keras.optimizers.Adam(0.02))
    generator.train_pairs(PAIRS, epochs=90, batch_size=10, verbose=0, seed=0)
    return generator


def test_every_network_learns_its_pairs(trained):
    assert trained.decode_batch(SOURCES) == [target for _, target in PAIRS]


def _teacher_forced_argmax(generator, sources, outputs):
    """Each output's characters as the Keras model's argmax, fed the output's own prefix."""
    encoder = generator.encoder
    source_ids, decoder_ids, _ = generator.encode_pairs(list(zip(sources, outputs)))
    probabilities = np.array(generator.seq2seq.model.predict_on_batch(
        [encoder.onehot(source_ids), encoder.onehot(decoder_ids)]))
    probabilities[..., :2] = -1.0  # padding and unknown are never emitted
    # Decoding stops after maxlen - 1 characters; the training model has one more position.
    return [encoder.decode_ids(row)[:generator.maxlen - 1]
            for row in probabilities.argmax(axis=-1)]


def test_compiled_greedy_is_the_argmax_of_the_keras_model(trained):
    outputs = trained.decode_batch(PROBES)
    assert _teacher_forced_argmax(trained, PROBES, outputs) == outputs


def test_beam_width_one_is_greedy_and_beam_never_scores_below_greedy(trained):
    _check_beam_against_greedy(trained)


def _check_beam_against_greedy(generator):
    input_ids = generator.encoder.encode_sources(PROBES, generator.maxlen,
                                                 reverse=generator.reverse_input)
    network, signal = generator.seq2seq.network, generator.encoder.signal_id
    greedy = decode_ids(network, input_ids, GreedyStrategy(), None, signal)
    width_one = decode_ids(network, input_ids, BeamSearchStrategy(beam_width=1), None, signal)
    np.testing.assert_array_equal(width_one.ids[:, 0], greedy.ids[:, 0])
    beam = BeamSearchStrategy(beam_width=4)
    wide = decode_ids(network, input_ids, beam, None, signal)
    assert np.all(np.asarray(beam.objective(wide.log_probs[:, 0], wide.lengths[:, 0]))
                  >= np.asarray(beam.objective(greedy.log_probs[:, 0],
                                               greedy.lengths[:, 0])) - 1e-5)


def test_saved_and_loaded_decodes_the_same(trained, tmp_path):
    _check_save_and_load(trained, tmp_path / "model.h5")


def _check_save_and_load(generator, path):
    generator.save_compact_model(path)
    loaded = loadCharBasedSeq2SeqGenerator(path)
    assert loaded.get_config() == generator.get_config()
    assert loaded.decode_batch(PROBES) == generator.decode_batch(PROBES)
    assert loaded.decode_nbest("three", beam_width=3) == generator.decode_nbest("three",
                                                                                beam_width=3)


def _untrained(seed, **settings):
    """A generator of latent 16, maxlen 10 on the test pairs' characters, random weights."""
    keras.utils.set_random_seed(seed)
    encoder = SentenceToCharVecEncoder.from_texts(s + t for s, t in PAIRS)
    generator = CharBasedSeq2SeqGenerator(encoder, latent_dim=16, maxlen=10, **settings)
    s2s = generator.seq2seq
    s2s.prepare_model()
    s2s.set_weights([np.random.default_rng(seed).normal(0, 0.5, w.shape).astype("float32")
                     for w in s2s.model.get_weights()])
    return generator


def _assert_weight_shapes(generator):
    """The built model's weights have the shapes the network declares."""
    s2s = generator.seq2seq
    assert {layer.name: [tuple(w.shape) for w in layer.get_weights()]
            for layer in s2s.model.layers if layer.get_weights()} == s2s.network.weight_shapes()


@pytest.mark.parametrize("options", [
    pytest.param(dict(layers=1), marks=[pytest.mark.slow, pytest.mark.xla], id="1-layer"),
    pytest.param(dict(layers=2), id="2-layers"),
    pytest.param(dict(layers=2, context_layers=2), id="2-context-layers")])
def test_untrained_attention_decodes_as_its_keras_model(options):
    generator = _untrained(options["layers"] + options.get("context_layers", 0),
                           network="attention", embedding_dim=8, **options)
    _assert_weight_shapes(generator)
    outputs = generator.decode_batch(PROBES)
    assert _teacher_forced_argmax(generator, PROBES, outputs) == outputs


#: Untrained transformers: the fast loop compiles one, with XLA (a transformer's decoding
#: loops take seconds to compile even as plain graphs).
UNTRAINED_TRANSFORMERS = [
    pytest.param(dict(layers=2, heads=2), id="2-layers"),
    pytest.param(dict(layers=1, heads=4, feedforward_dim=24), marks=[pytest.mark.slow,
                                                                     pytest.mark.xla],
                 id="1-layer-xla"),
]


@pytest.mark.parametrize("options", UNTRAINED_TRANSFORMERS)
def test_untrained_transformer_decodes_as_its_keras_model(options):
    generator = _untrained(3, network="transformer", **options)
    _assert_weight_shapes(generator)
    outputs = generator.decode_batch(PROBES)
    # Random weights make long outputs; the cache must serve every step up to maxlen - 1.
    assert max(len(output) for output in outputs) == generator.maxlen - 1
    assert _teacher_forced_argmax(generator, PROBES, outputs) == outputs


@pytest.mark.slow
def test_untrained_transformer_beam_search_and_saving(tmp_path):
    generator = _untrained(4, network="transformer", layers=1, heads=2)
    _check_beam_against_greedy(generator)
    _check_save_and_load(generator, tmp_path / "model.h5")


def test_transformer_config_and_its_cache_needs_num_steps():
    network = TransformerNetwork(vecsize=9, latent_dim=8, heads=2)
    assert network.get_config() == {"vecsize": 9, "latent_dim": 8, "layers": 2, "heads": 2,
                                    "feedforward_dim": 32, "dropout": 0.1}
    # The self-attention cache is sized by the steps the decoding loop will run.
    with pytest.raises(ValueError, match="num_steps"):
        network.encode(None, None)


@pytest.mark.parametrize("rows", [2, 256])
def test_attention_memory_matches_the_keras_encoder(rows):
    # Also 256 rows of mixed lengths, a batch as the decoding engine hands it over.
    keras.utils.set_random_seed(3)
    network = AttentionNetwork(vecsize=9, latent_dim=8, embedding_dim=4, layers=2, dropout=0.0)
    model = network.build().model
    if rows == 2:
        ids = np.array([[3, 4, 5, 2, 0, 0], [6, 2, 0, 0, 0, 0]], dtype=np.int32)
    else:
        rng = np.random.default_rng(0)
        ids = np.zeros((rows, 12), dtype=np.int32)
        for row, length in enumerate(rng.integers(0, 12, rows)):
            ids[row, :length] = rng.integers(3, 9, length)
            ids[row, length] = 2  # the signal ends every input
    onehot = np.eye(9, dtype=np.float32)[ids] * (ids != 0)[..., None]
    bilstm = model.get_layer("encoder_bilstm_2")
    keras_memory, *keras_states = keras.Model(model.inputs[0],
                                              bilstm.output).predict_on_batch(onehot)
    weights = network.inference_weights()
    (values, keys, mask), states = network.encode(weights, keras.ops.convert_to_tensor(ids))
    # The context holds the memory projected for the scores and for the attentional layer.
    real = ids != 0
    for projected, kernel in ((keys, weights.attention_kernel),
                              (values, weights.context_kernel)):
        np.testing.assert_allclose(np.asarray(projected)[real],
                                   (np.asarray(keras_memory) @ np.asarray(kernel))[real],
                                   atol=1e-5)
    np.testing.assert_array_equal(np.asarray(mask), real)
    # The decoder starts from the last layer's final states, both directions joined.
    forward_h, forward_c, backward_h, backward_c = (np.asarray(x) for x in keras_states)
    np.testing.assert_allclose(np.asarray(states[2]),
                               np.concatenate([forward_h, backward_h], -1), atol=1e-5)
    np.testing.assert_allclose(np.asarray(states[3]),
                               np.concatenate([forward_c, backward_c], -1), atol=1e-5)


def test_networks_by_name_and_their_errors():
    assert sorted(NETWORKS) == ["attention", "lstm", "transformer"]
    with pytest.raises(ValueError, match="network"):
        get_network("transformer-xl", 10, 8)
    with pytest.raises(TypeError, match="attention"):
        get_network("attention", 10, 8, bidirectional=True)
    with pytest.raises(ValueError, match="latent_dim"):
        get_network("attention", 10, 7)
    with pytest.raises(ValueError, match="dropout"):
        get_network("attention", 10, 8, dropout=1.0)
    with pytest.raises(ValueError, match="layers"):
        get_network("attention", 10, 8, layers=0)
    with pytest.raises(ValueError, match="context_layers"):
        get_network("attention", 10, 8, context_layers=-1)


def test_new_models_have_the_attention_network_unless_told():
    encoder = SentenceToCharVecEncoder("ab")
    assert CharBasedSeq2SeqGenerator(encoder, 8, 8).network_name == DEFAULT_NETWORK \
        == "attention"
    lstm = CharBasedSeq2SeqGenerator(encoder, 8, 8, network="lstm")
    assert lstm.network_name == lstm.network.name == "lstm"
    assert isinstance(lstm.network, LSTMNetwork)


@pytest.mark.parametrize("options, error, match", [
    (dict(heads=3), ValueError, "heads.*latent_dim=8"),
    (dict(heads=0), ValueError, "heads"),
    (dict(layers=0), ValueError, "layers"),
    (dict(layers=9), ValueError, "layers"),
    (dict(feedforward_dim=0), ValueError, "feedforward_dim"),
    (dict(feedforward_dim=2.5), ValueError, "feedforward_dim"),
    (dict(dropout=1.0), ValueError, "dropout"),
    (dict(embedding_dim=4), TypeError, "transformer"),
    (dict(bidirectional=True), TypeError, "transformer"),
])
def test_transformer_option_errors(options, error, match):
    with pytest.raises(error, match=match):
        get_network("transformer", 10, 8, **options)
    assert get_network("transformer", 10, 8, heads=8, feedforward_dim=None).feedforward_dim == 32


@pytest.mark.parametrize("settings", [dict(network="attention", embedding_dim=4),
                                      dict(network="transformer", heads=2)],
                         ids=["attention", "transformer"])
def test_trains_with_the_small_data_recipe_by_default(settings):
    encoder = SentenceToCharVecEncoder.from_texts(s + t for s, t in PAIRS)
    generator = CharBasedSeq2SeqGenerator(encoder, latent_dim=8, maxlen=12, **settings)
    generator.compile()
    model = generator.seq2seq.model
    assert isinstance(model.optimizer, keras.optimizers.Adam)
    assert model.optimizer.clipnorm == 1.0
    assert model.loss.get_config()["label_smoothing"] == pytest.approx(0.1)


@pytest.mark.slow
def test_validation_score_selects_the_best_epoch_and_evaluate_works_during_training():
    keras.utils.set_random_seed(5)
    encoder = SentenceToCharVecEncoder.from_texts(s + t for s, t in PAIRS)
    generator = CharBasedSeq2SeqGenerator(encoder, latent_dim=16, maxlen=12,
                                          network="attention", embedding_dim=8)
    seen, last_batch, epoch_end = [], [], []
    sources = [source for source, _ in PAIRS]

    class EvaluateEachEpoch(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch

        def on_train_batch_end(self, batch, logs=None):
            # Mid-epoch, where JAX keeps the weights being trained in the trainer's state:
            # decoding after the epoch's last batch must see the weights the epoch ends with.
            if self.epoch >= 1:
                outputs = generator.decode_batch(sources)
                last_batch[self.epoch - 1:] = [outputs]

        def on_epoch_end(self, epoch, logs=None):
            seen.append(generator.evaluate(PAIRS[:4], metrics=("exact_match", "cer")))
            if epoch >= 1:
                epoch_end.append(generator.decode_batch(sources))

    history = generator.train_pairs(PAIRS, epochs=6, batch_size=10, verbose=0, seed=0,
                                    validation_split=0.25, validation_every=2,
                                    callbacks=[EvaluateEachEpoch()])
    assert len(seen) == 6 and all(0.0 <= scores["cer"] for scores in seen)
    assert len(epoch_end) == 5 and last_batch == epoch_end
    scored = [key for key in history.history if key in ("val_chrf", "val_cer")]
    assert len(scored) == 1 and len(history.history[scored[0]]) == 3  # epochs 2, 4 and 6
    # The best score wins, ties going to the lower validation loss.
    sign = 1 if scored[0] == "val_chrf" else -1
    figures = [(sign * score, -loss) for score, loss in
               zip(history.history[scored[0]], history.history["val_loss"][1::2])]
    best_epoch = 2 * (figures.index(max(figures)) + 1)
    assert generator.seq2seq.weights_epoch == best_epoch
    assert history.selection.epoch == best_epoch and history.selection.measure == scored[0]


def test_comparing_a_network_with_its_name_still_works_with_a_warning():
    lstm = CharBasedSeq2SeqGenerator(SentenceToCharVecEncoder("ab"), 8, 8, network="lstm")
    with pytest.warns(DeprecationWarning, match="network_name"):
        assert lstm.network == "lstm"  # what generator.network was until 0.2.0
    assert lstm.network == lstm.network and lstm.network != lstm.seq2seq
