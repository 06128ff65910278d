"""The command line's options: argument types checked at the door, and the parser."""

from __future__ import annotations

import argparse
import re
from typing import Any

from ..strategy_options import STRATEGY_OPTIONS
from .commands import (_cmd_chat, _cmd_decode, _cmd_demo, _cmd_evaluate, _cmd_export,
                       _cmd_serve)
from .common import PROG
from .train import _cmd_train

__all__ = ["build_parser"]

#: The names of ``shorttext_s2s.networks.NETWORKS``, written out: importing the networks would
#: import Keras before every command's options are even parsed (a test checks they agree).
NETWORK_NAMES = ("lstm", "attention", "transformer")


def _number(convert: Any, lowest: float, inclusive: bool, expected: str) -> Any:
    """An argparse type: ``convert`` the text and require a finite value above ``lowest``."""
    def parse(text: str) -> Any:
        try:
            value = convert(text)
        except ValueError:
            value = None
        in_range = value is not None and (value >= lowest if inclusive else value > lowest)
        if not in_range or value == float("inf"):  # NaN fails both comparisons
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
        return value
    return parse


_positive_int = _number(int, 1, True, "a positive integer")
_non_negative_int = _number(int, 0, True, "an integer >= 0")
_positive_float = _number(float, 0, False, "a positive number")


_DURATION = re.compile(r"(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s?)?")


def _duration(text: str) -> float:
    """Seconds from ``900``, ``900s``, ``15m``, ``1h30m`` or ``1.5h``."""
    match = _DURATION.fullmatch(text.strip())
    if text.strip() and match and any(match.groups()):
        hours, minutes, seconds = (float(part or 0) for part in match.groups())
        total = 3600 * hours + 60 * minutes + seconds
        if total > 0:
            return total
    raise argparse.ArgumentTypeError(f"expected a positive duration such as 900, 900s, 15m "
                                     f"or 1h30m, got {text!r}")


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1), got {text!r}") from None
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1), got {text!r}")
    return value


def _even_positive_int(text: str) -> int:
    value = _positive_int(text)
    if value % 2:
        raise argparse.ArgumentTypeError(f"expected an even positive integer (the attention "
                                         f"network's encoder has half the units each way), "
                                         f"got {text!r}")
    return value


def _maxlen(text: str) -> int:
    # The loader's own limit: a model trained above it could be saved but never loaded again.
    from ..encoder import MAX_SEQUENCE_LENGTH

    value = _positive_int(text)
    if value < 2:
        raise argparse.ArgumentTypeError(f"expected an integer >= 2 (one character and the "
                                         f"end signal), got {text!r}")
    if value > MAX_SEQUENCE_LENGTH:
        raise argparse.ArgumentTypeError(f"expected at most {MAX_SEQUENCE_LENGTH}, the longest "
                                         f"maxlen a model file may have, got {text!r}")
    return value


def _port(text: str) -> int:
    value = _non_negative_int(text)
    if value > 65535:
        raise argparse.ArgumentTypeError(f"expected a port from 0 to 65535, got {text!r}")
    return value


def _strategy_list(text: str) -> tuple:
    if text == "none":
        return ()
    names = tuple(name.strip() for name in text.split(","))
    unknown = [name for name in names if name not in STRATEGY_OPTIONS]
    if unknown:
        raise argparse.ArgumentTypeError(f"expected 'none' or names among "
                                         f"{', '.join(STRATEGY_OPTIONS)}, got {text!r}")
    return names


def _add_strategy_options(parser: argparse.ArgumentParser, default: str) -> None:
    group = parser.add_argument_group("decoding strategy")
    group.add_argument("--strategy", choices=STRATEGY_OPTIONS, default=default,
                       help=f"how each next character is chosen: the most likely one "
                            f"(greedy), drawn from the predicted distribution (sample), or "
                            f"the best of several hypotheses (beam) (default: {default})")
    group.add_argument("--temperature", type=_positive_float, metavar="T",
                       help="sample: divide the log-probabilities by T; below 1 is more "
                            "conservative, above 1 more varied (default: 1)")
    group.add_argument("--top-k", type=_positive_int, metavar="K",
                       help="sample: draw only among the K most likely characters")
    group.add_argument("--beam-width", type=_positive_int, metavar="N",
                       help="beam: number of hypotheses kept at each step")
    group.add_argument("--seed", type=_non_negative_int,
                       help="random seed, for reproducible sampling")


def _add_column_options(parser: argparse.ArgumentParser, target: bool = True) -> None:
    """The columns of a tab-separated file, named by the user (nothing is guessed)."""
    group = parser.add_argument_group(
        "columns", "which tab-separated columns to read, counted from 1; a line without one "
                   "of them is refused with its number")
    group.add_argument("--source-column", type=_positive_int, metavar="N",
                       help="the input's column (default: 1)")
    if target:
        group.add_argument("--target-column", type=_positive_int, metavar="N",
                           help="the target's column (default: 2)")
    group.add_argument("--features-column", type=_positive_int, metavar="N",
                       help="the column of the input's features, tags separated by the "
                            "model's features separator (';' unless trained otherwise), e.g. "
                            "3 for the SIGMORPHON files lemma<TAB>form<TAB>tags (default: no "
                            "features)")


def _add_verbose_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--verbose", "-v", action="store_true",
                        help="also show the log of the backend (TensorFlow, XLA) and the "
                             "library's informational messages")


#: The subcommands: name -> (handler, takes a MODEL file, help line, description).
_COMMANDS = {
    "demo": (_cmd_demo, False,
        "train a small chatbot on the ChatterBot corpus and talk to it",
        "Train a small chatbot on the English conversations of the ChatterBot corpus (installed "
        "by the 'demo' extra), save it, and answer a few prompts, greedily and by sampling."),
    "train": (_cmd_train, False,
        "train a model on a pairs file or a conversation",
        "Train a model on sentence pairs (a tab-separated file, two or three columns, as the "
        "Anki/Tatoeba files, or the columns named with --source-column, --target-column and "
        "--features-column) or on a conversation (one utterance a line, each answered by the "
        "next), and save it as one model file. Texts are read as characters unless "
        "--source-sep or --target-sep split them into longer units (phonemes)."),
    "decode": (_cmd_decode, True,
        "answer sentences with a trained model",
        "Decode sentences with a trained model: those given as arguments, else the lines of "
        "--input FILE, else the lines of standard input. Prints one line per input line, in "
        "order. Typed at a terminal, each line is answered as soon as it is entered; from a "
        "file or a pipe, lines are decoded in batches. With --source-column or "
        "--features-column, each line is tab-separated and those columns are read."),
    "chat": (_cmd_chat, True,
        "talk to a trained model",
        "Read a line, print the model's reply, until end of input (Ctrl-D) or Ctrl-C."),
    "evaluate": (_cmd_evaluate, True,
        "score a trained model on a pairs file",
        "Decode the sources of a pairs file and compare with the targets: exact match rate "
        "(word accuracy), character error rate (CER), for a model whose outputs are units "
        "(or with --target-sep) the symbol error rate (SER: the phoneme error rate for "
        "phonemes) and, with the 'metrics' extra, chrF and BLEU. Lines with the same source "
        "(and features) are one input with several references: its output is right if it "
        "equals any of them."),
    "serve": (_cmd_serve, True,
        "serve a trained model over HTTP (JSON API and chat page)",
        "Serve a model over HTTP until Ctrl-C or SIGTERM (which let the requests in flight "
        "finish): POST /v1/decode, GET /v1/model, GET /healthz (liveness), GET /readyz "
        "(readiness: 503 until the decoder is compiled), a chat page at / and the API "
        "documentation at /docs. Concurrent requests are decoded together; --workers runs "
        "several processes on the port. Needs the 'serve' extra."),
    "export": (_cmd_export, True,
        "export the whole decoder for runtimes without this library (SavedModel, ONNX)",
        "Write the model's decoder for other runtimes. --format saved_model (the default): a "
        "TensorFlow SavedModel directory, text in and text out (vocabulary, encoding, the "
        "compiled decoding loop, the joining of the output inside), which TensorFlow Serving "
        "or tf.saved_model.load serve without Keras or this library; its serving_default "
        "signature takes 'texts' (and 'features' for a model trained with them) and returns "
        "'outputs' and 'log_probs' ('nbest' too for beam search). --format onnx: one ONNX "
        "file, ids in and ids out, that shorttext_s2s.runtime.OnnxDecoder runs with ONNX "
        "Runtime and NumPy only (the 'onnx' extra to export, 'runtime' to run). Runs under "
        "the TensorFlow backend."),
}


def _command(commands: Any, name: str, func: Any, model: bool, help: str,
             description: str) -> argparse.ArgumentParser:
    """Add a subcommand with the options every command has (and a MODEL argument if asked)."""
    parser = commands.add_parser(name, help=help, description=description)
    if model:
        parser.add_argument("model", metavar="MODEL", help="a model file written by 'train'")
    _add_verbose_option(parser)
    parser.set_defaults(func=func, subparser=parser)
    return parser


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser of the ``shorttext-s2s`` command.

    Returns:
        The parser. Each subcommand sets two defaults: ``func``, its handler, and
        ``subparser``, its own parser (for usage errors found after parsing).
    """
    from .. import __version__

    parser = argparse.ArgumentParser(
        prog=PROG, description="Character-level sequence-to-sequence models: train, decode, "
                               "chat and evaluate from the command line.",
        epilog=f"Run '{PROG} COMMAND --help' for the options of a command.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    parsers = {name: _command(commands, name, *spec) for name, spec in _COMMANDS.items()}

    demo = parsers["demo"]
    demo.add_argument("--output", "-o", default="shorttext-s2s-demo.h5", metavar="MODEL",
                      help="where to save the trained model (default: %(default)s)")
    demo.add_argument("--epochs", type=_positive_int, metavar="N",
                      help="training epochs (default: 70, or 2 with --quick)")
    demo.add_argument("--latent-dim", type=_even_positive_int, metavar="N",
                      help="units of the decoder LSTM, even (default: 256, or 16 with --quick)")
    demo.add_argument("--quick", action="store_true",
                      help="a tiny model trained for seconds, to check the installation "
                           "(its replies are gibberish)")
    demo.add_argument("--seed", type=_non_negative_int, default=0,
                      help="random seed of the initial weights and of sampling "
                           "(default: %(default)s)")

    train = parsers["train"]
    source = train.add_mutually_exclusive_group(required=True)
    source.add_argument("pairs", nargs="?", metavar="PAIRS",
                        help="tab-separated file: source<TAB>target[<TAB>attribution]")
    source.add_argument("--conversation", metavar="FILE",
                        help="text file, one utterance a line, each answered by the next")
    train.add_argument("--output", "-o", required=True, metavar="MODEL",
                       help="the model file to write")
    train.add_argument("--limit", type=_positive_int, metavar="N",
                       help="train on the first N pairs only")
    _add_column_options(train)
    units = train.add_argument_group(
        "units", "what the model reads and writes one at a time (saved with the model)")
    units.add_argument("--source-sep", metavar="SEP",
                       help="the inputs' units are separated by SEP (default: characters)")
    units.add_argument("--target-sep", metavar="SEP",
                       help="the targets' units are separated by SEP, e.g. ' ' for phonemes "
                            "written K AE T; outputs are joined with it (default: characters)")
    units.add_argument("--features-sep", metavar="SEP", default=";",
                       help="what separates the tags of the features column (default: "
                            "%(default)s)")
    hyper = train.add_argument_group("model and training")
    hyper.add_argument("--network", choices=NETWORK_NAMES, default=None,
                       help="the network (default: attention; see the networks page)")
    hyper.add_argument("--latent-dim", type=_positive_int, default=256, metavar="N",
                       help="the decoder's units (even for the attention network), the "
                            "transformer's width (default: %(default)s)")
    for flag, what in (
            ("--reverse-input", "feed inputs to the encoder backwards (better for translation "
                                "with the lstm network; saved with the model)"),
            ("--bidirectional", "lstm network: encode inputs with a forward and a backward "
                                "LSTM of half the units each (trains faster on a CPU)")):
        hyper.add_argument(flag, action="store_true", help=what)
    both = "attention and transformer networks"
    for flag, kind, metavar, what in (
            ("--embedding-dim", _positive_int, "N",
             "attention network: size of the character embeddings (default: 64)"),
            ("--layers", _positive_int, "N", f"{both}: stacked LSTM layers or Transformer "
             "blocks (default: 1 for attention, 2 for transformer)"),
            ("--context-layers", _non_negative_int, "N",
             "attention network: LSTM layers above the attention that read the context "
             "vector (default: 0; 1 pays on pronunciations, see the networks page)"),
            ("--heads", _positive_int, "N",
             "transformer network: attention heads, a divisor of --latent-dim (default: 4)"),
            ("--feedforward-dim", _positive_int, "N", "transformer network: units of the "
             "feed-forward layers (default: 4 x --latent-dim)"),
            ("--dropout", _fraction, "F",
             f"{both}: dropout rate (default: 0.2 for attention, 0.1 for transformer)")):
        hyper.add_argument(flag, type=kind, metavar=metavar, help=what)
    hyper.add_argument("--recipe", choices=("keras-example", "small-data"),
                       help="training recipe (default: the network's: small-data for "
                            "attention and transformer, keras-example for lstm)")
    hyper.add_argument("--maxlen", type=_maxlen, metavar="N",
                       help="longest sequence in units (characters), the signal included; "
                            "longer texts are cut (default: the longest text of the data + 1)")
    hyper.add_argument("--epochs", type=_positive_int, default=100, metavar="N",
                       help="passes over the data (default: %(default)s)")
    hyper.add_argument("--batch-size", type=_positive_int, default=64, metavar="N",
                       help="pairs per gradient step (default: %(default)s)")
    hyper.add_argument("--optimizer",
                       help="Keras optimizer name: rmsprop, adam, sgd... (default: the "
                            "recipe's)")
    hyper.add_argument("--learning-rate", type=_positive_float, metavar="LR",
                       help="learning rate of the optimizer (default: the optimizer's)")
    hyper.add_argument("--validation-split", type=_fraction, default=0.0, metavar="F",
                       help="hold out this fraction of the pairs, drawn at random, for "
                            "validation and model selection (default: none)")
    hyper.add_argument("--early-stopping", type=_non_negative_int, metavar="PATIENCE",
                       help="stop after PATIENCE epochs without improvement of the "
                            "recipe's measure (small-data: the validation chrF, or the word "
                            "accuracy with --target-sep; keras-example: "
                            "the validation loss; without validation: the training loss); "
                            "0 turns it off (default: with validation, the recipe's patience, "
                            "6 for small-data and 5 for keras-example; without, off). The "
                            "weights of the best epoch are kept either way")
    hyper.add_argument("--time-budget", type=_duration, metavar="DURATION",
                       help="stop at the first batch after DURATION of training (900, 15m, "
                            "1h30m), validate that epoch and keep the best epoch's weights "
                            "(default: no limit but --epochs)")
    hyper.add_argument("--feature-dropout", type=_fraction, metavar="F",
                       help="with --features-column: read each tag of a training input as "
                            "unknown with probability F, so that tags never seen in "
                            "training are read as unknown ones (default: 0 on the command "
                            "line, whose validation pairs come from the training file)")
    hyper.add_argument("--seed", type=_non_negative_int,
                       help="random seed of the initial weights and of the batch order")
    hyper.add_argument("--checkpoint", metavar="FILE",
                       help="save the model to FILE at the end of every epoch, with the "
                            "optimizer state, so that an interrupted run can go on with "
                            "--resume")
    hyper.add_argument("--resume", action="store_true",
                       help="if the --checkpoint file exists, continue from the epoch it "
                            "holds, up to --epochs")
    hyper.add_argument("--final", action="store_true",
                       help="save without the optimizer state: a smaller file for inference "
                            "only")
    hyper.add_argument("--plot", metavar="FILE.png",
                       help="also save the loss and accuracy curves (needs the 'plot' extra)")
    hyper.add_argument("--quiet", "-q", action="store_true", help="no progress output")
    processes = train.add_argument_group(
        "training across processes (JAX backend)",
        "Every process runs the same command; together they train one model, each on its "
        "share of every batch. Settings not given are read from KERAS_DISTRIBUTION_JOB_ADDRESSES, "
        "KERAS_DISTRIBUTION_NUM_PROCESSES and KERAS_DISTRIBUTION_PROCESS_ID, or on Slurm from "
        "its own variables. Process 0 writes --output and --checkpoint and prints progress.")
    processes.add_argument("--distributed", action="store_true",
                           help="join a multi-process run (--batch-size is the global batch)")
    processes.add_argument("--coordinator", metavar="HOST:PORT",
                           help="address of process 0, which the others connect to")
    processes.add_argument("--num-processes", type=_positive_int, metavar="N",
                           help="number of processes in the run")
    processes.add_argument("--process-id", type=_non_negative_int, metavar="I",
                           help="this process's rank, 0 to N-1")

    decode = parsers["decode"]
    decode.add_argument("sentences", nargs="*", metavar="SENTENCE",
                        help="sentences to decode")
    decode.add_argument("--input", "-i", metavar="FILE",
                        help="read sentences from FILE, one a line ('-' for standard input)")
    decode.add_argument("--batch-size", type=_positive_int, default=256, metavar="N",
                        help="sentences decoded together (default: %(default)s)")
    _add_column_options(decode, target=False)
    _add_strategy_options(decode, default="greedy")

    chat = parsers["chat"]
    _add_strategy_options(chat, default="greedy")

    evaluate = parsers["evaluate"]
    evaluate.add_argument("pairs", metavar="PAIRS", help="tab-separated pairs file")
    evaluate.add_argument("--limit", type=_positive_int, metavar="N",
                          help="score the first N pairs only")
    evaluate.add_argument("--json", action="store_true", help="print the scores as JSON")
    evaluate.add_argument("--target-sep", metavar="SEP",
                          help="score the symbol error rate (SER) with the units of a target "
                               "separated by SEP (' ' for phonemes written K AE T: the "
                               "phoneme error rate) (default: the model's separator; none "
                               "for a character model, which then has no SER)")
    _add_column_options(evaluate)
    _add_strategy_options(evaluate, default="greedy")

    export = parsers["export"]
    export.add_argument("output", metavar="OUT",
                        help="the directory (saved_model) or file (onnx) to write; it must not "
                             "exist")
    export.add_argument("--format", choices=("saved_model", "onnx"), default="saved_model",
                        help="what to write (default: %(default)s)")
    export.add_argument("--strategy", choices=("greedy", "beam"), default="greedy",
                        help="the decoding built into the export (default: %(default)s)")
    export.add_argument("--beam-width", type=_positive_int, metavar="N",
                        help="beam: hypotheses kept at each step (default: 5)")
    export.add_argument("--no-xla", action="store_true",
                        help="saved_model: do not compile the decoding loop with XLA (for a "
                             "runtime built without it; slower)")

    serve = parsers["serve"]
    serve.add_argument("--host", default="127.0.0.1",
                       help="address to listen on; 0.0.0.0 for every interface (default: "
                            "%(default)s, this machine only)")
    serve.add_argument("--port", type=_port, default=8000,
                       help="port to listen on; 0 picks a free one (default: %(default)s)")
    serve.add_argument("--workers", type=_positive_int, default=1, metavar="N",
                       help="worker processes sharing the port, each with its own copy of the "
                            "model and its own batching (default: %(default)s)")
    serve.add_argument("--shutdown-timeout", type=_number(float, 0, True, "a number >= 0"),
                       default=30.0, metavar="SECONDS",
                       help="on SIGTERM or Ctrl-C, how long the requests in flight are given "
                            "to finish (default: %(default)s)")
    limits = serve.add_argument_group("batching and limits")
    limits.add_argument("--max-delay-ms", type=_number(float, 0, True, "a number >= 0"),
                        default=5.0, metavar="MS",
                        help="longest a request waits for others to be decoded with it "
                             "(default: %(default)s)")
    limits.add_argument("--max-batch", type=_positive_int, default=256, metavar="N",
                        help="most texts decoded together (default: %(default)s)")
    limits.add_argument("--no-batching", action="store_true",
                        help="decode each request alone (to measure what batching gains)")
    limits.add_argument("--max-texts", type=_positive_int, default=64, metavar="N",
                        help="most texts in one request (default: %(default)s)")
    limits.add_argument("--max-chars", type=_positive_int, default=1000, metavar="N",
                        help="most characters in one text (default: %(default)s)")
    limits.add_argument("--max-body-bytes", type=_positive_int, default=1 << 20, metavar="N",
                        help="largest request body (default: %(default)s)")
    limits.add_argument("--max-beam-width", type=_positive_int, default=16, metavar="N",
                        help="largest beam_width a request may ask for (default: "
                             "%(default)s)")
    limits.add_argument("--warmup", type=_strategy_list, default=("greedy",),
                        metavar="STRATEGIES",
                        help="strategies compiled at start-up, comma-separated, or 'none' "
                             "(default: greedy; others compile on first use)")
    serve.add_argument("--log-level", default="info",
                       choices=("critical", "error", "warning", "info", "debug"),
                       help="server log level (default: %(default)s)")
    return parser


#: Subcommands whose positional arguments may come after options.
INTERMIXED = ("decode",)
