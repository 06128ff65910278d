"""Units beyond characters (separators) and a features column: encoder, readers, training,
saving, loading, decoding, evaluation, the command line and the server."""

from __future__ import annotations

import json
import warnings

import keras
import numpy as np
import pytest

from shorttext_s2s import (
    CharBasedSeq2SeqGenerator,
    InputDataError,
    InputWarning,
    SentenceToCharVecEncoder,
    loadCharBasedSeq2SeqGenerator,
)
from shorttext_s2s.data import read_pairs
from shorttext_s2s.training import trainer
from shorttext_s2s.training.batches import PairBatches
from shorttext_s2s.encoder import PAD_ID, UNK_ID
from shorttext_s2s.training.recipes import MAX_FEATURE_DROPOUT, default_feature_dropout

from conftest import under_one_backend

#: Words and their pronunciations, phonemes separated by spaces (two for "read").
G2P = [("cat", "K AE T"), ("bat", "B AE T"), ("tab", "T AE B"), ("act", "AE K T"),
       ("tack", "T AE K"), ("read", "R IY D"), ("read", "R EH D")]
#: Lemma, form, tags: the form depends on the tags.
INFLECTION = [("sing", "sang", "V;PST"), ("sing", "sings", "V;PRS;3;SG"),
              ("ring", "rang", "V;PST"), ("ring", "rings", "V;PRS;3;SG"),
              ("sink", "sank", "V;PST"), ("sink", "sinks", "V;PRS;3;SG")]


# --- the encoder ---------------------------------------------------------------------------

def test_a_target_separator_makes_each_phoneme_one_unit():
    encoder = SentenceToCharVecEncoder.from_pairs(G2P, target_sep=" ")
    assert {"AE", "IY", "EH", "K"} <= set(encoder.characters)
    assert " " not in encoder.characters  # the separator is no unit
    assert set("catbrd") <= set(encoder.characters)  # the inputs are still characters
    ids = encoder.encode_ids("K AE T", maxlen=5, startsig=True, side="target")
    assert ids.tolist() == [encoder.signal_id] + [encoder.dictionary[u] for u in
                                                   ("K", "AE", "T")] + [PAD_ID]
    assert encoder.decode_ids(ids[1:]) == "K AE T"
    # Repeated separators make no empty unit; an unknown phoneme is the unknown id.
    assert encoder.target_units("K  AE ") == ["K", "AE"]
    assert encoder.encode_ids("ZH", maxlen=2, side="target").tolist() == [UNK_ID, PAD_ID]
    assert encoder.target_length("K AE T") == 3 and encoder.source_length("cat") == 3
    assert encoder.maxlen_for(G2P) == 5  # "tack", and the signal


def test_tags_are_units_of_their_own_read_after_the_source():
    encoder = SentenceToCharVecEncoder.from_pairs(
        [("a", "b", "A;X"), ("x", "y", "N")])
    assert encoder.features == ["A", "N", "X"]
    # The tag X and the character x are different units.
    assert encoder.feature_ids["X"] != encoder.dictionary["x"]
    assert len(encoder) == 2 + len(encoder.characters) + 3
    a, x, tag_a, tag_x = (encoder.dictionary["a"], encoder.dictionary["x"],
                          encoder.feature_ids["A"], encoder.feature_ids["X"])
    signal = encoder.signal_id
    ids = encoder.encode_sources(["ax", "ax"], maxlen=6, reverse=True,
                                 features=["A;X", None])
    assert ids.tolist() == [[x, a, tag_a, tag_x, signal, PAD_ID],
                            [x, a, signal, PAD_ID, PAD_ID, PAD_ID]]
    # Cut: the source's end goes first, then the last tags; the signal always stays.
    assert encoder.encode_sources(["ax"], maxlen=4, features=["A;X"]).tolist() == \
        [[a, tag_a, tag_x, signal]]
    assert encoder.encode_sources(["ax"], maxlen=3, features=["A;X;N"]).tolist() == \
        [[tag_a, tag_x, signal]]
    # Tags never decode as text, and an unknown tag is the unknown id.
    assert encoder.decode_ids([a, tag_a, x]) == "ax"
    assert encoder.encode_sources(["a"], maxlen=3, features=["PL"]).tolist() == \
        [[a, UNK_ID, signal]]
    with pytest.raises(ValueError, match="features"):
        encoder.encode_sources(["a", "x"], maxlen=3, features=["A"])


def test_encoder_configs_round_trip_and_a_character_encoder_keeps_the_old_config():
    plain = SentenceToCharVecEncoder.from_pairs([("ab", "ba")])
    assert plain.get_config() == {"characters": "\nab", "signalchar": "\n"}
    assert plain == SentenceToCharVecEncoder("ab")
    for encoder in (plain, SentenceToCharVecEncoder.from_pairs(G2P, target_sep=" "),
                    SentenceToCharVecEncoder.from_pairs(INFLECTION, source_sep="-",
                                                        features_sep=";")):
        config = json.loads(json.dumps(encoder.get_config()))
        assert SentenceToCharVecEncoder.from_config(config) == encoder
    units = SentenceToCharVecEncoder.from_pairs(G2P, target_sep=" ").get_config()
    assert units["target_sep"] == " " and "AE" in units["characters"]


def test_bad_units_and_separators_are_refused():
    with pytest.raises(ValueError, match="single characters"):
        SentenceToCharVecEncoder(["ab"])  # a longer unit needs a separator
    with pytest.raises(ValueError, match="target_sep"):
        SentenceToCharVecEncoder("ab", target_sep="")
    with pytest.raises(ValueError, match="source_sep"):
        SentenceToCharVecEncoder("ab", source_sep="\n")  # the signal
    with pytest.raises(InputDataError, match="pairs"):
        SentenceToCharVecEncoder.from_pairs([("a", "b", "c", "d")])
    # The tags' separator may be the signal character: tags have ids of their own.
    assert SentenceToCharVecEncoder("ab", signalchar=";").features_sep == ";"


# --- reading columns -----------------------------------------------------------------------

def test_named_columns_read_the_shared_task_layout_and_refuse_a_short_line(tmp_path):
    path = tmp_path / "task.tsv"
    path.write_text("sing\tsang\tV;PST\n\nring\trings\tV;PRS;3;SG\n", encoding="utf-8")
    assert read_pairs(path, features_column=3) == [("sing", "sang", "V;PST"),
                                                   ("ring", "rings", "V;PRS;3;SG")]
    assert read_pairs(path, source_column=2, target_column=1) == [("sang", "sing"),
                                                                  ("rings", "ring")]
    # The default layout still reads a third column as an attribution.
    assert read_pairs(path) == [("sing", "sang"), ("ring", "rings")]
    path.write_text("sing\tsang\tV;PST\nring\trang\n", encoding="utf-8")
    with pytest.raises(InputDataError) as caught:
        read_pairs(path, features_column=3)
    assert str(caught.value) == (f"{path}, line 2: no features (column 3): the line has 2 "
                                 f"tab-separated columns")
    with pytest.raises(ValueError, match="differ"):
        read_pairs(path, source_column=2)


# --- training, saving, loading, decoding ----------------------------------------------------

def _train(pairs, **encoder_options) -> CharBasedSeq2SeqGenerator:
    keras.utils.set_random_seed(0)
    encoder = SentenceToCharVecEncoder.from_pairs(pairs, **encoder_options)
    generator = CharBasedSeq2SeqGenerator(encoder, latent_dim=32,
                                          maxlen=encoder.maxlen_for(pairs))
    generator.train_pairs(pairs * 6, batch_size=6, epochs=60, verbose=0)
    return generator


@pytest.fixture(scope="module")
def g2p_model() -> CharBasedSeq2SeqGenerator:
    return _train(G2P[:5], target_sep=" ")


@pytest.fixture(scope="module")
def inflection_model() -> CharBasedSeq2SeqGenerator:
    return _train(INFLECTION)


def test_phonemes_round_trip_through_training_saving_loading_and_decoding(g2p_model,
                                                                         tmp_path):
    words = [word for word, _ in G2P[:5]]
    outputs = g2p_model.decode_batch(words)
    assert outputs == [pron for _, pron in G2P[:5]]  # learnt, and joined with spaces
    assert g2p_model.decode_nbest("cat", beam_width=3)[0][0] == "K AE T"
    path = tmp_path / "g2p.h5"
    g2p_model.save_compact_model(path)
    loaded = loadCharBasedSeq2SeqGenerator(path)
    assert loaded.encoder == g2p_model.encoder and loaded.encoder.target_sep == " "
    assert loaded.decode_batch(words) == outputs


def test_features_condition_the_output_and_round_trip(inflection_model, tmp_path):
    lemmas = [lemma for lemma, _, _ in INFLECTION]
    tags = [tag for _, _, tag in INFLECTION]
    outputs = inflection_model.decode_batch(lemmas, features=tags)
    assert outputs == [form for _, form, _ in INFLECTION]
    assert inflection_model.decode("sing", strategy="greedy", features="V;PST") == "sang"
    path = tmp_path / "inflection.h5"
    inflection_model.save_compact_model(path, final=True)
    loaded = loadCharBasedSeq2SeqGenerator(path)
    assert loaded.encoder.features == ["3", "PRS", "PST", "SG", "V"]
    assert loaded.decode_batch(lemmas, features=tags) == outputs
    with pytest.raises(TypeError, match="single str"):
        loaded.decode_batch(lemmas[:2], features="V;PST")


def test_a_tag_the_model_never_saw_is_named_in_the_warning(inflection_model):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        inflection_model.decode_batch(["sing"], features=["V;FUT"])
    assert [str(w.message) for w in caught if w.category is InputWarning] == [
        "1 of 1 input(s) not read as given: 'sing': tags the model never saw: 'FUT'"]


def test_feature_dropout_reads_training_tags_as_unknown_and_nothing_else():
    encoder = SentenceToCharVecEncoder.from_pairs(INFLECTION)
    ids = encoder.encode_pairs(INFLECTION * 50, maxlen=12)
    first = encoder.first_feature_id
    assert first == len(encoder) - len(encoder.features)
    tags = ids[0] >= first

    def sources(batches):
        rows = np.concatenate(batches._batches)
        encoded = np.concatenate([batch[0][0].argmax(-1) for batch in
                                  (batches[i] for i in range(len(batches)))])
        # Back in the pairs' order (every batch padded to maxlen; one-hot, so PAD -> 0).
        return encoded[np.argsort(rows)]

    def batches(**options):
        return PairBatches(*ids, len(encoder), batch_size=30, length_step=12, **options)

    kept = ids[0]
    dropping = dict(feature_dropout=0.5, first_feature_id=first)
    dropped = sources(batches(seed=3, **dropping))
    assert (dropped[~tags] == kept[~tags]).all()  # units, signal and padding untouched
    unknown = dropped[tags] == UNK_ID
    assert 0.4 < unknown.mean() < 0.6
    assert (dropped[tags][~unknown] == kept[tags][~unknown]).all()
    assert (sources(batches(seed=3)) == kept).all()
    # Drawn anew each epoch; the same again for the same seed and epoch (a resumed run).
    later = batches(seed=3, **dropping)
    later.set_epoch(4)
    fourth = sources(later)
    assert (fourth[tags] != dropped[tags]).any()
    again = batches(seed=3, **dropping)
    again.set_epoch(4)
    assert (sources(again) == fourth).all()
    # Every process of a distributed run drops the same tags of its slice of a batch.
    whole = batches(seed=3, multiple_of=2, **dropping)
    halves = [batches(seed=3, multiple_of=2, shard=(part, 2), **dropping) for part in (0, 1)]
    for index in range(len(whole)):
        assert np.array_equal(np.concatenate([half[index][0][0] for half in halves]),
                              whole[index][0][0])
    with pytest.raises(ValueError, match="feature_dropout"):
        batches(feature_dropout=1.0, first_feature_id=first)
    with pytest.raises(ValueError, match="first_feature_id"):
        batches(feature_dropout=0.1)


def test_the_default_feature_dropout_is_the_share_of_validation_tags_not_in_the_vocabulary():
    known = ["3", "PRS", "PST", "SG", "V"]
    # V, PST known; PTCP, FUT not: two of the five validation tags.
    assert default_feature_dropout("small-data", known,
                                   [["V", "PST"], ["PTCP"], ["V", "FUT"]]) == pytest.approx(0.4)
    assert default_feature_dropout("small-data", known,
                                   [["V", "PTCP"], ["V", "SG"]]) == pytest.approx(0.25)
    assert default_feature_dropout("small-data", known, [["X", "Y"]]) == MAX_FEATURE_DROPOUT
    assert default_feature_dropout("small-data", known, [["V"], []]) == 0.0
    assert default_feature_dropout("small-data", known, []) == 0.0
    assert default_feature_dropout("keras-example", known, [["PTCP"]]) == 0.0


#: Validation pairs, one with a tag the training pairs lack: 1 of 4 validation tags.
UNSEEN_TAG = [("sing", "sang", "V;PST"), ("ring", "rung", "V;PTCP")]


@pytest.mark.parametrize("recipe, option, validation, expected", [
    ("small-data", None, UNSEEN_TAG, 0.25), ("small-data", None, INFLECTION[:2], 0.0),
    ("keras-example", None, UNSEEN_TAG, 0.0), ("small-data", 0.3, INFLECTION[:2], 0.3),
    ("small-data", 0.0, UNSEEN_TAG, 0.0)])
def test_training_drops_features_at_the_recipes_rate(monkeypatch, recipe, option, validation,
                                                     expected):
    made = []

    class Recording(PairBatches):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            made.append(self.feature_dropout)

    monkeypatch.setattr(trainer, "PairBatches", Recording)
    encoder = SentenceToCharVecEncoder.from_pairs(INFLECTION)
    generator = CharBasedSeq2SeqGenerator(encoder, latent_dim=8, maxlen=12)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InputWarning)  # the validation's unknown tag
        generator.train_pairs(INFLECTION, batch_size=6, epochs=1, verbose=0, recipe=recipe,
                              feature_dropout=option, validation_data=validation)
    assert made == [pytest.approx(expected), 0.0]  # training batches, validation batches


def test_a_command_line_style_split_of_the_training_file_drops_no_features(monkeypatch):
    made = []
    monkeypatch.setattr(trainer.PairBatches, "_drop_features",
                        lambda self, sources, index: made.append(self.feature_dropout))
    encoder = SentenceToCharVecEncoder.from_pairs(INFLECTION + UNSEEN_TAG)
    generator = CharBasedSeq2SeqGenerator(encoder, latent_dim=8, maxlen=12)
    # PTCP is in the vocabulary: held out or not, it is no unknown tag.
    generator.train_pairs(INFLECTION + UNSEEN_TAG, epochs=1, verbose=0, validation_split=0.5)
    assert made == []
    with pytest.raises(ValueError, match="feature_dropout"):
        trainer.Trainer(feature_dropout=-0.1)


def test_training_pairs_with_features_need_a_vocabulary_with_tags():
    generator = CharBasedSeq2SeqGenerator(SentenceToCharVecEncoder("singa"), latent_dim=8,
                                          maxlen=6)
    with pytest.raises(InputDataError, match="from_pairs"):
        generator.train_pairs(INFLECTION[:2], epochs=1, verbose=0)


def test_evaluate_scores_units_against_every_reference(g2p_model):
    # "read" has two pronunciations: one output, right if it is either; the phoneme error
    # rate is against the closer one.
    output = g2p_model.decode_batch(["read"])[0]
    scores = g2p_model.evaluate(G2P[:2] + G2P[5:], metrics=("exact_match", "ser"))
    assert scores["n"] == 3
    from shorttext_s2s.evaluation import symbol_error_rate

    expected_ser = symbol_error_rate(
        g2p_model.decode_batch(["cat", "bat"]) + [output],
        [["K AE T"], ["B AE T"], ["R IY D", "R EH D"]], separator=" ")
    assert scores["ser"] == pytest.approx(expected_ser)
    assert scores["exact_match"] == pytest.approx(
        (2 + (output in ("R IY D", "R EH D"))) / 3)
    # The model's separator is the default: SER is among the default metrics.
    assert "ser" in g2p_model.evaluate(G2P[:2], metrics=None)


def test_targets_of_units_are_selected_by_the_word_accuracy():
    keras.utils.set_random_seed(0)
    encoder = SentenceToCharVecEncoder.from_pairs(G2P, target_sep=" ")
    generator = CharBasedSeq2SeqGenerator(encoder, latent_dim=16, maxlen=5)
    history = generator.train_pairs(G2P[:5] * 4, batch_size=10, epochs=3, verbose=0,
                                    validation_data=G2P[:5], validation_every=1)
    assert {"val_exact_match", "val_ser"} <= set(history.history)
    selection = history.selection
    assert selection.measure == "val_exact_match"
    assert set(selection.scores) >= {"val_exact_match", "val_ser"}
    logs = history.history
    assert selection.scores["val_exact_match"] == logs["val_exact_match"][selection.epoch - 1]
    # The best word accuracy, ties going to the lower validation loss.
    best = max(range(3), key=lambda i: (logs["val_exact_match"][i], -logs["val_loss"][i]))
    assert selection.epoch == best + 1


# --- the command line and the server -------------------------------------------------------

@pytest.mark.slow
@under_one_backend("command plumbing")
def test_the_command_line_trains_decodes_and_evaluates_units_and_features(tmp_path):
    from test_cli import assert_one_line_error, run

    lexicon = tmp_path / "lexicon.tsv"
    lexicon.write_text("".join(f"{w}\t{p}\n" for w, p in G2P[:5] * 4), encoding="utf-8")
    model = tmp_path / "g2p.h5"
    trained = run("train", str(lexicon), "-o", str(model), "--target-sep", " ", "--epochs",
                  "2", "--latent-dim", "8", "--batch-size", "10", "-q")
    assert trained.returncode == 0, trained.stderr
    assert "20 pairs, " in trained.stdout and " distinct units, maxlen 5 " in trained.stdout
    assert loadCharBasedSeq2SeqGenerator(model).encoder.target_sep == " "
    scores = run("evaluate", str(model), str(lexicon), "--json")
    assert scores.returncode == 0, scores.stderr
    assert {"n", "exact_match", "cer", "ser"} <= set(json.loads(scores.stdout))

    task = tmp_path / "task.tsv"
    task.write_text("".join(f"{a}\t{b}\t{c}\n" for a, b, c in INFLECTION * 2), encoding="utf-8")
    model = tmp_path / "inflection.h5"
    trained = run("train", str(task), "-o", str(model), "--features-column", "3",
                  "--feature-dropout", "0.2", "--epochs", "2", "--latent-dim", "8", "-q")
    assert trained.returncode == 0, trained.stderr
    assert "12 pairs, 8 distinct characters, 5 distinct tags, maxlen 9" in trained.stdout
    generator = loadCharBasedSeq2SeqGenerator(model)
    decoded = run("decode", str(model), "--source-column", "2", "--features-column", "1",
                  stdin="V;PST\tsing\nV;PRS;3;SG\tring\n")
    assert decoded.returncode == 0, decoded.stderr
    assert decoded.stdout.splitlines() == generator.decode_batch(
        ["sing", "ring"], features=["V;PST", "V;PRS;3;SG"])
    scores = run("evaluate", str(model), str(task), "--features-column", "3", "--json")
    assert json.loads(scores.stdout)["n"] == len(INFLECTION)

    # A line without the features column is refused with its number; nothing is guessed.
    task.write_text("sing\tsang\tV;PST\nring\trang\n", encoding="utf-8")
    assert_one_line_error(run("train", str(task), "-o", str(tmp_path / "x.h5"),
                              "--features-column", "3"),
                          1, f"{task}, line 2: no features (column 3)")
    assert_one_line_error(run("decode", str(model), "--features-column", "2", stdin="sing\n"),
                          1, "<stdin>, line 1: no column 2")
    assert_one_line_error(run("evaluate", str(model), str(task), "--target-column", "1"),
                          2, "columns must differ")


@pytest.mark.slow
def test_the_server_takes_features_and_describes_the_units(inflection_model, tmp_path):
    from test_serving import Server, call, decode

    path = tmp_path / "inflection.h5"
    inflection_model.save_compact_model(path, final=True)
    server = Server(path)
    try:
        lemmas = [lemma for lemma, _, _ in INFLECTION]
        tags = [tag for _, _, tag in INFLECTION]
        assert decode(server, {"texts": lemmas, "features": tags})["outputs"] == \
            inflection_model.decode_batch(lemmas, features=tags)
        answer = decode(server, {"texts": ["sing"], "features": ["V;FUT"]})
        assert answer["warnings"] == [{"field": "texts[0]",
                                       "message": "tags the model never saw: 'FUT'"}]
        status, _, content = call(server.url + "/v1/decode", "POST",
                                  {"texts": ["sing", "ring"], "features": ["V;PST"]})
        assert status == 422
        assert json.loads(content)["error"]["field"] == "features"
        status, _, content = call(server.url + "/v1/model")
        units = json.loads(content)["units"]
        assert units == {"source_sep": None, "target_sep": None,
                         "features": ["3", "PRS", "PST", "SG", "V"], "features_sep": ";"}
        assert decode(server, {"texts": ["sing"]})["outputs"]  # still serving
    finally:
        server.stop()
