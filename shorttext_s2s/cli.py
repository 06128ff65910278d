"""The ``shorttext-s2s`` command line: demo, train, decode, chat, evaluate and serve.

Run ``shorttext-s2s --help`` (or ``python -m shorttext_s2s --help``) for the subcommands and
``shorttext-s2s COMMAND --help`` for their options. Every command exits with 0 on success, 1
with a one-line message on standard error when a file is missing or unusable, 2 for invalid
options, and 128 + the signal number when interrupted (130 for Ctrl-C, 143 for SIGTERM).
"""

from __future__ import annotations

import argparse
import importlib.util
import logging
import os
import shlex
import signal
import sys
import threading
from typing import Any, Iterable, Iterator, List, Optional, Sequence, TextIO

from .exceptions import ShorttextS2SError
from .strategy_options import STRATEGY_OPTIONS, MisplacedOption, strategy_options

__all__ = ["main", "build_parser"]

PROG = "shorttext-s2s"
#: History keys of the accuracy metric, in order of preference: the library's masked metric,
#: then Keras's own when a model is compiled with ``metrics=["accuracy"]``.
ACCURACY_KEYS = ("char_accuracy", "accuracy")
#: Subcommands whose positional arguments may come after options.
INTERMIXED = ("decode",)
#: How ``evaluate`` names the scores.
SCORE_LABELS = {"n": "pairs", "exact_match": "exact match", "cer": "CER", "chrf": "chrF",
                "bleu": "BLEU"}

#: Exit status for a failure the user can fix (missing or bad file, missing extra).
EXIT_ERROR = 1
#: Exit status of argparse for invalid options.
EXIT_USAGE = 2
#: Conventional exit status after Ctrl-C (128 + SIGINT).
EXIT_INTERRUPTED = 128 + signal.SIGINT
#: The signals after which ``train`` stops at the end of the current batch and saves its work.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class CommandError(Exception):
    """A problem found by the command itself (not by argparse), reported in one line."""


def _check_writable(path: str, what: str) -> None:
    """Fail before a long training rather than when saving its result."""
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise CommandError(f"{what} {path}: directory {directory} does not exist")
    if os.path.isdir(path):
        raise CommandError(f"{what} {path}: is a directory")
    if not os.access(directory, os.W_OK):
        raise CommandError(f"{what} {path}: directory {directory} is not writable")


# --- argument types: checked at the door, so that bad values are usage errors (exit 2) -------

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


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1), got {text!r}") from None
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1), got {text!r}")
    return value


def _maxlen(text: str) -> int:
    # The loader's own limit: a model trained above it could be saved but never loaded again.
    from .encoder import MAX_SEQUENCE_LENGTH

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


# --- the parser -------------------------------------------------------------------------------

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


def _add_verbose_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--verbose", "-v", action="store_true",
                        help="also show the log of the backend (TensorFlow, XLA) and the "
                             "library's informational messages")


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser of the ``shorttext-s2s`` command.

    Returns:
        The parser. Each subcommand sets two defaults: ``func``, its handler, and
        ``subparser``, its own parser (for usage errors found after parsing).
    """
    from . import __version__

    parser = argparse.ArgumentParser(
        prog=PROG, description="Character-level sequence-to-sequence models: train, decode, "
                               "chat and evaluate from the command line.",
        epilog=f"Run '{PROG} COMMAND --help' for the options of a command.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    demo = commands.add_parser(
        "demo", help="train a small chatbot on the ChatterBot corpus and talk to it",
        description="Train a small chatbot on the English conversations of the ChatterBot "
                    "corpus (installed by the 'demo' extra), save it, and answer a few "
                    "prompts, greedily and by sampling.")
    demo.add_argument("--output", "-o", default="shorttext-s2s-demo.h5", metavar="MODEL",
                      help="where to save the trained model (default: %(default)s)")
    demo.add_argument("--epochs", type=_positive_int, metavar="N",
                      help="training epochs (default: 70, or 2 with --quick)")
    demo.add_argument("--latent-dim", type=_positive_int, metavar="N",
                      help="LSTM units (default: 256, or 16 with --quick)")
    demo.add_argument("--quick", action="store_true",
                      help="a tiny model trained for seconds, to check the installation "
                           "(its replies are gibberish)")
    demo.add_argument("--seed", type=_non_negative_int, default=0,
                      help="random seed of the initial weights and of sampling "
                           "(default: %(default)s)")
    _add_verbose_option(demo)
    demo.set_defaults(func=_cmd_demo, subparser=demo)

    train = commands.add_parser(
        "train", help="train a model on a pairs file or a conversation",
        description="Train a model on sentence pairs (a tab-separated file, two or three "
                    "columns, as the Anki/Tatoeba files) or on a conversation (one utterance "
                    "a line, each answered by the next), and save it as one model file.")
    source = train.add_mutually_exclusive_group(required=True)
    source.add_argument("pairs", nargs="?", metavar="PAIRS",
                        help="tab-separated file: source<TAB>target[<TAB>attribution]")
    source.add_argument("--conversation", metavar="FILE",
                        help="text file, one utterance a line, each answered by the next")
    train.add_argument("--output", "-o", required=True, metavar="MODEL",
                       help="the model file to write")
    hyper = train.add_argument_group("model and training")
    hyper.add_argument("--network", choices=("lstm", "attention"), default=None,
                       help="the network (default: lstm; see the networks page)")
    hyper.add_argument("--latent-dim", type=_positive_int, default=256, metavar="N",
                       help="the decoder's units (default: %(default)s)")
    hyper.add_argument("--reverse-input", action="store_true",
                       help="feed inputs to the encoder backwards (often better for "
                            "translation; saved with the model)")
    hyper.add_argument("--bidirectional", action="store_true",
                       help="lstm network: encode inputs with a forward and a backward LSTM "
                            "of half the units each (trains faster on a CPU)")
    hyper.add_argument("--embedding-dim", type=_positive_int, metavar="N",
                       help="attention network: size of the character embeddings "
                            "(default: 64)")
    hyper.add_argument("--layers", type=_positive_int, metavar="N",
                       help="attention network: stacked LSTM layers (default: 1)")
    hyper.add_argument("--dropout", type=_fraction, metavar="F",
                       help="attention network: dropout rate (default: 0.2)")
    hyper.add_argument("--recipe", choices=("keras-example", "small-data"),
                       help="training recipe (default: the network's: small-data for "
                            "attention, keras-example for lstm)")
    hyper.add_argument("--maxlen", type=_maxlen, metavar="N",
                       help="longest sequence in characters, the signal included; longer "
                            "texts are cut (default: the longest text of the data + 1)")
    hyper.add_argument("--epochs", type=_positive_int, default=100, metavar="N",
                       help="passes over the data (default: %(default)s)")
    hyper.add_argument("--batch-size", type=_positive_int, default=64, metavar="N",
                       help="pairs per gradient step (default: %(default)s)")
    hyper.add_argument("--optimizer",
                       help="Keras optimizer name: rmsprop, adam, sgd... (default: the "
                            "recipe's)")
    hyper.add_argument("--learning-rate", type=_positive_float, metavar="LR",
                       help="learning rate of the optimizer (default: the optimizer's)")
    hyper.add_argument("--limit", type=_positive_int, metavar="N",
                       help="train on the first N pairs only")
    hyper.add_argument("--validation-split", type=_fraction, default=0.0, metavar="F",
                       help="hold out this fraction of the pairs, drawn at random, for "
                            "validation and model selection (default: none)")
    hyper.add_argument("--early-stopping", type=_positive_int, metavar="PATIENCE",
                       help="stop after PATIENCE epochs without improvement of the "
                            "validation loss (of the training loss without validation) and "
                            "keep the best weights")
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
    _add_verbose_option(train)
    train.set_defaults(func=_cmd_train, subparser=train)

    decode = commands.add_parser(
        "decode", help="answer sentences with a trained model",
        description="Decode sentences with a trained model: those given as arguments, else "
                    "the lines of --input FILE, else the lines of standard input. Prints one "
                    "line per input line, in order. Typed at a terminal, each line is "
                    "answered as soon as it is entered; from a file or a pipe, lines are "
                    "decoded in batches.")
    decode.add_argument("model", metavar="MODEL", help="a model file written by 'train'")
    decode.add_argument("sentences", nargs="*", metavar="SENTENCE",
                        help="sentences to decode")
    decode.add_argument("--input", "-i", metavar="FILE",
                        help="read sentences from FILE, one a line ('-' for standard input)")
    decode.add_argument("--batch-size", type=_positive_int, default=256, metavar="N",
                        help="sentences decoded together (default: %(default)s)")
    _add_strategy_options(decode, default="greedy")
    _add_verbose_option(decode)
    decode.set_defaults(func=_cmd_decode, subparser=decode)

    chat = commands.add_parser(
        "chat", help="talk to a trained model",
        description="Read a line, print the model's reply, until end of input (Ctrl-D) or "
                    "Ctrl-C.")
    chat.add_argument("model", metavar="MODEL", help="a model file written by 'train'")
    _add_strategy_options(chat, default="greedy")
    _add_verbose_option(chat)
    chat.set_defaults(func=_cmd_chat, subparser=chat)

    evaluate = commands.add_parser(
        "evaluate", help="score a trained model on a pairs file",
        description="Decode the sources of a pairs file and compare with the targets: exact "
                    "match rate, character error rate (CER) and, with the 'metrics' extra, "
                    "chrF and BLEU.")
    evaluate.add_argument("model", metavar="MODEL", help="a model file written by 'train'")
    evaluate.add_argument("pairs", metavar="PAIRS", help="tab-separated pairs file")
    evaluate.add_argument("--limit", type=_positive_int, metavar="N",
                          help="score the first N pairs only")
    evaluate.add_argument("--json", action="store_true", help="print the scores as JSON")
    _add_strategy_options(evaluate, default="greedy")
    _add_verbose_option(evaluate)
    evaluate.set_defaults(func=_cmd_evaluate, subparser=evaluate)

    serve = commands.add_parser(
        "serve", help="serve a trained model over HTTP (JSON API and chat page)",
        description="Serve a model over HTTP until Ctrl-C: POST /v1/decode, GET /v1/model, "
                    "GET /healthz, a chat page at / and the API documentation at /docs. "
                    "Concurrent requests are decoded together. Needs the 'serve' extra.")
    serve.add_argument("model", metavar="MODEL", help="a model file written by 'train'")
    serve.add_argument("--host", default="127.0.0.1",
                       help="address to listen on; 0.0.0.0 for every interface (default: "
                            "%(default)s, this machine only)")
    serve.add_argument("--port", type=_port, default=8000,
                       help="port to listen on; 0 picks a free one (default: %(default)s)")
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
    serve.set_defaults(func=_cmd_serve, subparser=serve)
    return parser


# --- helpers ----------------------------------------------------------------------------------

def _strategy(args: argparse.Namespace, parser: argparse.ArgumentParser) -> Any:
    """The decoding strategy the options ask for, or a usage error for misplaced options.

    The options are checked first; the model file is checked before the strategies (and with
    them Keras) are imported.
    """
    given = {name: getattr(args, name) for name in ("temperature", "top_k", "beam_width")}
    try:
        options = strategy_options(args.strategy, given)
    except MisplacedOption as error:
        parser.error(f"--{error.option.replace('_', '-')} applies to --strategy {error.owner}, "
                     f"not {args.strategy}")
    _check_model_path(args.model)
    from .decoding import get_strategy

    return get_strategy(args.strategy, **options)


def _check_model_path(path: str) -> None:
    """A missing model file is reported before Keras is imported (seconds) to load it."""
    from .exceptions import ModelFileError, ModelFileNotFoundError

    if not os.path.exists(path):
        raise ModelFileNotFoundError(path)
    if os.path.isdir(path):
        raise ModelFileError(path, "is a directory, expected a model file")


def _load(path: str) -> Any:
    from .generator import loadCharBasedSeq2SeqGenerator

    return loadCharBasedSeq2SeqGenerator(path)


def _batches(items: Iterable[str], size: int) -> Iterator[List[str]]:
    batch: List[str] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _progress(quiet: bool) -> Any:
    """Keras ``verbose``: progress bars on a terminal, one line per epoch in a log file.

    A progress bar redraws itself with terminal escapes, which a log file would keep.
    """
    if quiet:
        return 0
    return 1 if sys.stdout.isatty() else 2


def _quiet_backend(verbose: bool) -> None:
    """Silence the backend's start-up log unless asked for; must run before Keras is imported.

    TensorFlow's C++ runtime (and XLA's, which JAX shares) logs half a dozen lines on import
    and on each compilation (CPU features, the absl notice, the oneDNN notice, "Compiled
    cluster using XLA"), mixed with the command's output. Level 2 hides its information and
    warnings and keeps its errors. The oneDNN notice goes with them, so ``TF_ENABLE_ONEDNN_OPTS``
    (which would change the numerics) is left alone. A value the user set is kept.
    """
    if verbose:
        logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        from absl import logging as absl_logging
    except ImportError:  # absl comes with TensorFlow; without it there is nothing to silence
        return
    absl_logging.set_verbosity(absl_logging.ERROR)


def _invocation() -> str:
    """How this command was run, as the user would type it again (for hints)."""
    script = sys.argv[0] if sys.argv else ""
    if os.path.basename(script).startswith(PROG):
        return script
    return "python -m shorttext_s2s"


def _say(message: str = "", stream: Optional[TextIO] = None) -> None:
    print(message, file=stream or sys.stdout, flush=True)


class _StopRequest:
    """Turns the first SIGINT or SIGTERM during training into a request to stop.

    The handler only records the signal: the training loop checks it after each batch (see
    ``_training_guard``), so that the stop never lands inside the backend's data pipeline and
    the epoch being trained is not counted as done. A second signal acts as usual (Ctrl-C
    raises ``KeyboardInterrupt`` at once).
    """

    def __init__(self) -> None:
        self.signum: Optional[int] = None
        self._previous: dict = {}

    def __enter__(self) -> "_StopRequest":
        if threading.current_thread() is not threading.main_thread():
            return self  # only the main thread may handle signals (main() called from a thread)
        for signum in STOP_SIGNALS:
            self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self._restore()

    def _restore(self) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous = {}

    def _handle(self, signum: int, frame: Any) -> None:
        self.signum = signum
        self._restore()
        _say(f"\n{PROG}: {signal.Signals(signum).name} received: stopping at the end of this "
             f"batch (press Ctrl-C again to stop at once)", sys.stderr)


class _Stopped(Exception):
    """Raised by the training guard to leave Keras's training loop after a stop request."""


def _training_guard(request: _StopRequest, monitor: str) -> Any:
    """A Keras callback that keeps the best weights so far and stops on ``request``.

    It raises :class:`_Stopped` at the end of the batch after a signal, so the weights of the
    unfinished epoch are never mistaken for an epoch's; the weights it keeps are those of the
    completed epoch with the lowest ``monitor``.
    """
    import keras

    class Guard(keras.callbacks.Callback):
        def __init__(self) -> None:
            super().__init__()
            self.best: Optional[tuple] = None  # (value, epochs done, weights)
            self.epochs_done: Optional[int] = None

        def on_train_batch_end(self, batch: int, logs: Optional[dict] = None) -> None:
            if request.signum is not None:
                raise _Stopped()

        def on_epoch_end(self, epoch: int, logs: Optional[dict] = None) -> None:
            self.epochs_done = epoch + 1
            value = (logs or {}).get(monitor)
            if value is not None and (self.best is None or value < self.best[0]):
                self.best = (float(value), epoch + 1, self.model.get_weights())

        def on_epoch_begin(self, epoch: int, logs: Optional[dict] = None) -> None:
            # A signal during validation lets the epoch (and its checkpoint) finish first.
            if request.signum is not None:
                raise _Stopped()

    return Guard()


# --- subcommands ------------------------------------------------------------------------------

def _cmd_demo(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from .corpus import corpus_dir
    from .demo import run_demo

    _check_writable(args.output, "--output")
    corpus_dir()  # a missing 'demo' extra is reported before Keras is imported
    run_demo(output=args.output, epochs=args.epochs, latent_dim=args.latent_dim,
             quick=args.quick, seed=args.seed, verbose=_progress(False), echo=_say,
             command=_invocation())
    return 0


def _cmd_train(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from .data import conversation_pairs, read_lines, read_pairs

    # Fail before a long training, not after it.
    if args.bidirectional and args.latent_dim % 2:
        parser.error(f"--bidirectional needs an even --latent-dim (each direction has half "
                     f"the units), got {args.latent_dim}")
    if args.resume and not args.checkpoint:
        parser.error("--resume needs --checkpoint FILE, the file to continue from")
    _check_writable(args.output, "--output")
    if args.checkpoint:
        _check_writable(args.checkpoint, "--checkpoint")
        if args.resume and os.path.exists(args.checkpoint):
            _check_model_path(args.checkpoint)
    if args.plot:
        _check_writable(args.plot, "--plot")
        _pyplot()
    if args.conversation:
        pairs = conversation_pairs(read_lines(args.conversation), args.conversation)
        if args.limit:
            pairs = pairs[:args.limit]
    else:
        pairs = read_pairs(args.pairs, limit=args.limit)
    if args.validation_split and int(len(pairs) * args.validation_split) < 1:
        parser.error(f"--validation-split {args.validation_split} of {len(pairs)} pairs "
                     f"leaves no pair for validation")

    import keras

    from .encoder import SentenceToCharVecEncoder
    from .generator import CharBasedSeq2SeqGenerator

    if args.seed is not None:
        keras.utils.set_random_seed(args.seed)
    # +1: the encoder input ends with the signal, the decoder input starts with it.
    maxlen = args.maxlen or max(max(len(s), len(t)) for s, t in pairs) + 1
    encoder = SentenceToCharVecEncoder.from_texts(s + t for s, t in pairs)
    _say(f"{len(pairs)} pairs, {len(encoder.characters)} distinct characters, maxlen {maxlen}"
         f"{' (derived from the data)' if not args.maxlen else ''}")
    network = {"network": args.network, "bidirectional": args.bidirectional or None,
               "embedding_dim": args.embedding_dim, "layers": args.layers,
               "dropout": args.dropout}
    try:
        generator = CharBasedSeq2SeqGenerator(
            encoder, latent_dim=args.latent_dim, maxlen=maxlen, reverse_input=args.reverse_input,
            **{key: value for key, value in network.items() if value is not None})
    except (TypeError, ValueError) as error:  # an option of another network
        parser.error(_one_line(error))
    from .recipes import default_loss, default_optimizer

    recipe = args.recipe or generator.s2sgenerator.network.recipe
    try:
        optimizer = keras.optimizers.get(args.optimizer or default_optimizer(recipe))
    except ValueError:
        parser.error(f"--optimizer: unknown Keras optimizer {args.optimizer!r}")
    if args.learning_rate is not None:
        optimizer.learning_rate = args.learning_rate
    generator.compile(optimizer=optimizer, loss=default_loss(recipe))
    monitor = "val_loss" if args.validation_split else "loss"
    with _StopRequest() as request:
        guard = _training_guard(request, monitor)
        try:
            history = generator.train_pairs(
                pairs, batch_size=args.batch_size, epochs=args.epochs,
                validation_split=args.validation_split, early_stopping=args.early_stopping,
                seed=args.seed, recipe=recipe,
                verbose=_progress(args.quiet), callbacks=[guard],
                checkpoint=args.checkpoint, resume=args.resume)
        except _Stopped:
            return _save_stopped(args, generator, guard, monitor, request.signum)
        except KeyboardInterrupt:
            if args.checkpoint and os.path.exists(args.checkpoint):
                _say(f"{PROG}: the last complete epoch is in {args.checkpoint}; go on with: "
                     f"{_resume_command(args)}", sys.stderr)
            raise
    generator.save_compact_model(args.output, final=args.final)
    losses = history.history.get("loss") or [float("nan")]
    summary = (f"trained to epoch {generator.epochs_trained} (weights of epoch "
               f"{generator.s2sgenerator.weights_epoch}), loss {losses[-1]:.4f}")
    if history.history.get("val_loss"):
        summary += f", validation loss {history.history['val_loss'][-1]:.4f}"
    _say(f"{summary}; model saved to {args.output}")
    if args.plot:
        _plot_history(history.history, args.plot)
        _say(f"training curves saved to {args.plot}")
    return 0


def _resume_command(args: argparse.Namespace) -> str:
    """The command that continues an interrupted ``train`` run."""
    argv = list(args.argv)
    if not args.checkpoint:
        # The output file was saved with the optimizer state: it serves as the checkpoint.
        argv += ["--checkpoint", args.output]
    if not args.resume:
        argv.append("--resume")
    return f"{_invocation()} {shlex.join(argv)}"


def _save_stopped(args: argparse.Namespace, generator: Any, guard: Any, monitor: str,
                  signum: Optional[int]) -> int:
    """After a stop request: save the best completed epoch and say how to go on."""
    status = 128 + (signum or signal.SIGINT)
    if guard.best is None:
        _say(f"{PROG}: stopped before the first epoch ended; nothing was saved", sys.stderr)
        if args.checkpoint and os.path.exists(args.checkpoint):
            _say(f"{PROG}: {args.checkpoint} still holds the run so far; go on with: "
                 f"{_resume_command(args)}", sys.stderr)
        return status
    value, epoch, weights = guard.best
    guard.model.set_weights(weights)
    # Training left by an exception did not mark the model trained; its epochs are complete.
    generator.s2sgenerator.trained = True
    # The saved weights are those of `epoch`: resuming from this file starts after it.
    generator.epochs_trained = epoch
    final = args.final and bool(args.checkpoint)  # without a checkpoint, keep what resumes
    generator.save_compact_model(args.output, final=final)
    _say(f"{PROG}: stopped during epoch {guard.epochs_done + 1}; the model of epoch {epoch} "
         f"({monitor.replace('val_', 'validation ')} {value:.4f}, the best so far) is saved "
         f"to {args.output}", sys.stderr)
    if args.checkpoint:
        _say(f"{PROG}: {args.checkpoint} holds epoch {guard.epochs_done}; go on with: "
             f"{_resume_command(args)}", sys.stderr)
    else:
        _say(f"{PROG}: go on from it with: {_resume_command(args)}", sys.stderr)
    return status


def _cmd_decode(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from .data import iter_lines

    if args.sentences and args.input:
        parser.error("give sentences as arguments or --input FILE, not both")
    lines: Optional[Iterable[str]] = None
    if args.sentences:
        lines = args.sentences
    elif args.input and args.input != "-":
        lines = _checked_lines(args.input)  # a missing file is reported before Keras loads
    strategy = _strategy(args, parser)
    if lines is not None:
        pass
    elif sys.stdin.isatty():
        # Someone typing: answer each line at once, as `chat` does, not after 256 lines.
        return _decode_typed_lines(args, strategy)
    else:
        lines = iter_lines(sys.stdin)
    generator = _load(args.model)
    seed = args.seed
    for batch in _batches(lines, args.batch_size):
        for output in generator.decode_batch(batch, strategy=strategy, seed=seed):
            sys.stdout.write(output + "\n")
        sys.stdout.flush()
        if seed is not None:
            # A different but reproducible stream for each batch.
            seed += 1
    return 0


def _checked_lines(path: str) -> Iterator[str]:
    """The lines of ``path``, its first line read now: a bad file fails before Keras loads."""
    import itertools

    from .data import iter_lines

    lines = iter_lines(path)
    first = next(lines, None)
    return itertools.chain([] if first is None else [first], lines)


def _decode_typed_lines(args: argparse.Namespace, strategy: Any) -> int:
    """``decode`` at a terminal: one output line per typed line, as soon as it is typed."""
    generator = _load(args.model)
    _say(f"Decoding each line as you type it with {args.model}; Ctrl-D or Ctrl-C to end.",
         sys.stderr)
    seed = args.seed
    try:
        while True:
            # The prompt goes to standard error: standard output holds only the outputs.
            sys.stderr.write("> ")
            sys.stderr.flush()
            line = input()
            _say(generator.decode_batch([line], strategy=strategy, seed=seed)[0])
            if seed is not None:
                seed += 1
    except (EOFError, KeyboardInterrupt):
        _say("", sys.stderr)
        return 0


def _cmd_chat(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    strategy = _strategy(args, parser)
    generator = _load(args.model)
    interactive = sys.stdin.isatty()
    if interactive:
        _say(f"Chatting with {args.model}. Type a sentence and press Enter; Ctrl-D or Ctrl-C "
             f"to quit.")
    turn = 0
    try:
        while True:
            if interactive:
                line = input("> ")
            else:
                line = sys.stdin.readline()
                if not line:
                    return 0
                line = line.rstrip("\r\n")
            if not line.strip():
                continue
            # One reproducible stream per turn, so that a repeated line may get a new reply.
            seed = None if args.seed is None else args.seed + turn
            _say(generator.decode_batch([line], strategy=strategy, seed=seed)[0])
            turn += 1
    except (EOFError, KeyboardInterrupt):
        # Both are the documented ways to leave the chat, not errors.
        if interactive:
            _say()
        return 0


def _cmd_evaluate(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from .data import read_pairs

    _check_model_path(args.model)
    pairs = read_pairs(args.pairs, limit=args.limit)
    strategy = _strategy(args, parser)
    metrics = ["exact_match", "cer"]
    if importlib.util.find_spec("sacrebleu") is not None:
        metrics += ["chrf", "bleu"]
    else:
        _say(f'{PROG}: chrF and BLEU left out: they need sacrebleu, installed with: '
             f'pip install "shorttext-s2s[metrics]"', sys.stderr)
    generator = _load(args.model)
    scores = generator.evaluate(pairs, strategy=strategy, metrics=metrics)
    if args.json:
        import json

        _say(json.dumps({key: _plain(value) for key, value in scores.items()}, sort_keys=True))
    else:
        for key, value in scores.items():
            label = SCORE_LABELS.get(key, key)
            _say(f"{label + ':':<13}{value if key == 'n' else format(value, '.4f')}")
    return 0


def _cmd_serve(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from .serving import ServerSettings, serve

    settings = ServerSettings(
        max_delay_ms=args.max_delay_ms, max_batch=args.max_batch,
        batching=not args.no_batching, max_texts=args.max_texts, max_chars=args.max_chars,
        max_body_bytes=args.max_body_bytes, max_beam_width=args.max_beam_width,
        warmup=args.warmup)
    serve(args.model, host=args.host, port=args.port, settings=settings,
          log_level=args.log_level, echo=_say)
    return 0


def _plain(value: Any) -> Any:
    """Numpy scalars as Python numbers, for JSON."""
    return value.item() if hasattr(value, "item") else value


def _pyplot() -> Any:
    from .extras import import_extra

    matplotlib = import_extra("matplotlib", "plot", "--plot")
    # A file is wanted, never a window: the non-interactive backend works without a display.
    matplotlib.use("Agg")
    return import_extra("matplotlib.pyplot", "plot", "--plot")


def _plot_history(history: dict, path: str) -> None:
    plt = _pyplot()
    from matplotlib import ticker
    panels = [("loss", "loss")] + [(key, "per-character accuracy") for key in ACCURACY_KEYS
                                   if key in history][:1]
    figure, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 3.5), squeeze=False)
    for axis, (key, title) in zip(axes[0], panels):
        epochs = range(1, len(history[key]) + 1)
        axis.plot(epochs, history[key], label="training")
        if f"val_{key}" in history:
            axis.plot(epochs, history[f"val_{key}"], label="validation")
        axis.set_title(title)
        axis.set_xlabel("epoch")
        axis.xaxis.set_major_locator(ticker.MaxNLocator(integer=True))
        axis.legend()
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


# --- entry point ------------------------------------------------------------------------------

def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split()) or type(error).__name__
    if isinstance(error, OSError) and not isinstance(error, ShorttextS2SError):
        # str(OSError) starts with "[Errno N]", which says nothing to a user.
        parts = [error.strerror or text]
        if error.filename is not None:
            parts.insert(0, os.fspath(error.filename))
        text = ": ".join(parts)
    return text


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the ``shorttext-s2s`` command.

    Args:
        argv: the arguments, without the program name. Defaults to ``sys.argv[1:]``.

    Returns:
        The exit status: 0 on success, 1 for a missing or unusable file (reported in one line
        on standard error), 2 for invalid options, 130 after Ctrl-C.

    Example:

    >>> main(["decode", "model.h5", "Hello!"])  # doctest: +SKIP
    Bonjour !
    0
    """
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    args, unparsed = parser.parse_known_args(argv)
    if unparsed:
        if args.command not in INTERMIXED:
            parser.error(f"unrecognized arguments: {' '.join(unparsed)}")
        # Sentences after options (`decode MODEL --strategy sample "Hi."`) are left over by a
        # plain parse; the subcommand's own parser can take positionals anywhere.
        args = args.subparser.parse_intermixed_args(argv[argv.index(args.command) + 1:])
    args.argv = argv
    _quiet_backend(args.verbose)
    try:
        from .extras import check_backend

        check_backend()
        return args.func(args, args.subparser)
    except KeyboardInterrupt:
        _say("", sys.stderr)
        _say(f"{PROG}: interrupted", sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (e.g. `| head`): stop quietly, and keep Python from
        # complaining again when it flushes stdout at exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_ERROR
    except (ShorttextS2SError, OSError, ImportError, CommandError) as error:
        # ImportError: an optional dependency that is missing; the library's messages say
        # which extra installs it.
        _say(f"{PROG}: error: {_one_line(error)}", sys.stderr)
        return EXIT_ERROR
