"""A new network and a new decoding strategy are one file each plus a catalog entry, and the
command line, the server's schema and the model file pick them up."""

from __future__ import annotations

import contextlib
import io

import pytest

from shorttext_s2s import (CharBasedSeq2SeqGenerator, SentenceToCharVecEncoder, catalog,
                           loadCharBasedSeq2SeqGenerator)
from shorttext_s2s.cli import build_parser, main
from shorttext_s2s.decoding import STRATEGIES, get_strategy
from shorttext_s2s.networks import NETWORKS, get_network

#: The entries a project of its own would add, pointing at tests/toys/.
TOY_NETWORK = catalog.Entry(
    "toy", "toys.toy_network:ToyNetwork", "a bidirectional LSTM, for the extension test",
    (catalog.Option("bidirectional", True, "encode both ways (the toy's default)",
                    kind="flag"),),
    recipe=catalog.KERAS_EXAMPLE)
TOY_STRATEGY = catalog.Entry(
    "nth-allowed", "toys.toy_strategy:NthAllowedStrategy", "the n-th id that may be emitted",
    (catalog.Option("offset", 0, "nth-allowed: which allowed id, from 0 (the end signal)",
                    kind="non_negative_int"),))

PAIRS = [("ab", "ba"), ("ba", "ab"), ("aab", "baa")] * 4


@pytest.fixture
def toys():
    catalog.register("networks", TOY_NETWORK)
    catalog.register("strategies", TOY_STRATEGY)
    try:
        yield
    finally:
        catalog.unregister("networks", TOY_NETWORK.name)
        catalog.unregister("strategies", TOY_STRATEGY.name)


def _help(*argv: str) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit) as exit_:
        main([*argv, "--help"])
    assert exit_.value.code == 0
    return " ".join(out.getvalue().split())  # argparse wraps lines anywhere


def test_the_new_entries_appear_on_the_command_line(toys):
    train = _help("train")
    assert "toy (a bidirectional LSTM, for the extension test)" in train
    assert "toy: encode both ways (the toy's default)" in train  # under --bidirectional
    decode = _help("decode")
    assert "nth-allowed (the n-th id that may be emitted)" in decode
    assert "--offset" in decode
    args = build_parser().parse_args(["decode", "model.h5", "x", "--strategy", "nth-allowed",
                                      "--offset", "1"])
    assert (args.strategy, args.offset) == ("nth-allowed", 1)


def test_without_their_entries_they_are_unknown():
    assert "toy" not in NETWORKS and "nth-allowed" not in STRATEGIES
    with pytest.raises(SystemExit):
        build_parser().parse_args(["decode", "model.h5", "--strategy", "nth-allowed"])
    with pytest.raises(ValueError, match="network"):
        get_network("toy", 10, 8)


def test_a_new_network_trains_saves_and_loads_by_its_name(toys, tmp_path):
    encoder = SentenceToCharVecEncoder.from_pairs(PAIRS)
    generator = CharBasedSeq2SeqGenerator(encoder, latent_dim=8, maxlen=6, network="toy")
    assert generator.network_name == "toy" and generator.network.recipe == "keras-example"
    assert generator.network.bidirectional  # the entry's default
    generator.train_pairs(PAIRS, epochs=1, verbose=0)
    generator.save_compact_model(tmp_path / "toy.h5")
    loaded = loadCharBasedSeq2SeqGenerator(tmp_path / "toy.h5")
    assert loaded.network_name == "toy" and type(loaded.network) is type(generator.network)
    assert loaded.decode_batch(["ab", "ba"]) == generator.decode_batch(["ab", "ba"])


def test_a_new_strategy_decodes_with_its_options(toys):
    encoder = SentenceToCharVecEncoder.from_pairs(PAIRS)
    generator = CharBasedSeq2SeqGenerator(encoder, latent_dim=8, maxlen=6, network="lstm")
    generator.train_pairs(PAIRS, epochs=1, verbose=0)
    strategy = get_strategy("nth-allowed", offset=1)
    assert strategy.name == "nth-allowed"
    # The first allowed id after the signal is the vocabulary's first unit, every step.
    first = encoder.id_to_unit[encoder.signal_id + 1]
    assert generator.decode_batch(["ab", "b"], strategy) == [first * 5, first * 5]
    assert generator.decode_batch(["ab"], "nth-allowed") == [""]  # the end signal at once


def test_the_servers_request_schema_takes_a_new_strategy(toys):
    pydantic = pytest.importorskip("pydantic")
    from shorttext_s2s.serving import ServerSettings
    from shorttext_s2s.serving.schema import request_model, strategy_of

    body = request_model(pydantic, ServerSettings(), vocabulary=10, max_chars=20)
    parsed = body.model_validate({"texts": ["ab"], "strategy": "nth-allowed", "offset": 2})
    assert strategy_of(parsed, max_beam_width=4) == get_strategy("nth-allowed", offset=2)
    with pytest.raises(pydantic.ValidationError):
        body.model_validate({"texts": ["ab"], "strategy": "nth-allowed", "offset": -1})
