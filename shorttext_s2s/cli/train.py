"""``shorttext-s2s train``: train, save, and keep the work when interrupted."""

from __future__ import annotations

import argparse
import os
import shlex
import signal
import sys
from typing import Any

from .. import catalog
from ..data import conversation_pairs, read_lines, read_pairs
from ..exceptions import TrainingStopped
from .common import (
    PROG,
    check_model_path,
    check_columns,
    check_writable,
    columns_of,
    invocation,
    one_line,
    progress,
    say,
)

from .options import add_catalog_options, add_column_options
from .plots import plot_history, pyplot
from .types import duration, fraction, maxlen, non_negative_int, positive_float, positive_int

NAME = "train"
TAKES_MODEL = False
HELP = "train a model on a pairs file or a conversation"
DESCRIPTION = (
    "Train a model on sentence pairs (a tab-separated file, two or three columns, as the "
    "Anki/Tatoeba files, or the columns named with --source-column, --target-column and "
    "--features-column) or on a conversation (one utterance a line, each answered by the "
    "next), and save it as one model file. Texts are read as characters unless "
    "--source-sep or --target-sep split them into longer units (phonemes).")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The command's own options."""
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("pairs", nargs="?", metavar="PAIRS",
                        help="tab-separated file: source<TAB>target[<TAB>attribution]")
    source.add_argument("--conversation", metavar="FILE",
                        help="text file, one utterance a line, each answered by the next")
    parser.add_argument("--output", "-o", required=True, metavar="MODEL",
                        help="the model file to write")
    parser.add_argument("--limit", type=positive_int, metavar="N",
                        help="train on the first N pairs only")
    add_column_options(parser)
    units = parser.add_argument_group(
        "units", "what the model reads and writes one at a time (saved with the model)")
    units.add_argument("--source-sep", metavar="SEP",
                       help="the inputs' units are separated by SEP (default: characters)")
    units.add_argument("--target-sep", metavar="SEP",
                       help="the targets' units are separated by SEP, e.g. ' ' for phonemes "
                            "written K AE T; outputs are joined with it (default: characters)")
    units.add_argument("--features-sep", metavar="SEP", default=";",
                       help="what separates the tags of the features column (default: "
                            "%(default)s)")
    hyper = parser.add_argument_group("model and training")
    hyper.add_argument("--network", choices=list(catalog.NETWORKS), default=None,
                       help=f"the network: {_choices(catalog.NETWORKS)} (default: "
                            f"{catalog.DEFAULT_NETWORK}; see the networks page)")
    hyper.add_argument("--latent-dim", type=positive_int, default=256, metavar="N",
                       help="the decoder's units (even for the attention network), the "
                            "transformer's width (default: %(default)s)")
    hyper.add_argument("--reverse-input", action="store_true",
                       help="feed inputs to the encoder backwards (better for translation "
                            "with the lstm network; saved with the model)")
    add_catalog_options(parser.add_argument_group("network options", "each network's own "
                                                  "(the others refuse them)"),
                        catalog.NETWORKS.values())
    hyper.add_argument("--recipe", choices=list(catalog.RECIPES),
                       help=f"training recipe (default: the network's: "
                            f"{_recipes_of_networks()})")
    hyper.add_argument("--maxlen", type=maxlen, metavar="N",
                       help="longest sequence in units (characters), the signal included; "
                            "longer texts are cut (default: the longest text of the data + 1)")
    hyper.add_argument("--epochs", type=positive_int, default=100, metavar="N",
                       help="passes over the data (default: %(default)s)")
    hyper.add_argument("--batch-size", type=positive_int, default=64, metavar="N",
                       help="pairs per gradient step (default: %(default)s)")
    hyper.add_argument("--optimizer",
                       help="Keras optimizer name: rmsprop, adam, sgd... (default: the "
                            "recipe's)")
    hyper.add_argument("--learning-rate", type=positive_float, metavar="LR",
                       help="learning rate of the optimizer (default: the optimizer's)")
    hyper.add_argument("--validation-split", type=fraction, metavar="F",
                       help=f"hold out this fraction of the pairs, drawn at random, for "
                            f"validation and model selection; 0 for none (default: sized "
                            f"from the data: none under {catalog.MIN_VALIDATION_PAIRS:,} "
                            f"pairs, else about {catalog.VALIDATION_PAIRS:,} pairs, from "
                            f"{_percents(catalog.VALIDATION_SHARES)})")
    hyper.add_argument("--early-stopping", type=non_negative_int, metavar="PATIENCE",
                       help=f"stop after PATIENCE epochs without improvement of the "
                            f"recipe's measure (small-data: the validation chrF, or the word "
                            f"accuracy with --target-sep; keras-example: the validation loss; "
                            f"without validation: the training loss); 0 turns it off "
                            f"(default: with validation, the recipe's patience, "
                            f"{_patiences()}; without, off). The weights of the best epoch "
                            f"are kept either way")
    hyper.add_argument("--time-budget", type=duration, metavar="DURATION",
                       help="stop at the first batch after DURATION of training (900, 15m, "
                            "1h30m), validate that epoch and keep the best epoch's weights "
                            "(default: no limit but --epochs)")
    hyper.add_argument("--feature-dropout", type=fraction, metavar="F",
                       help="with --features-column: read each tag of a training input as "
                            "unknown with probability F, so that tags never seen in "
                            "training are read as unknown ones (default: 0 on the command "
                            "line, whose validation pairs come from the training file)")
    hyper.add_argument("--seed", type=non_negative_int,
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
    processes = parser.add_argument_group(
        "training across processes (JAX backend)",
        "Every process runs the same command; together they train one model, each on its "
        "share of every batch. Settings not given are read from KERAS_DISTRIBUTION_JOB_ADDRESSES, "
        "KERAS_DISTRIBUTION_NUM_PROCESSES and KERAS_DISTRIBUTION_PROCESS_ID, or on Slurm from "
        "its own variables. Process 0 writes --output and --checkpoint and prints progress.")
    processes.add_argument("--distributed", action="store_true",
                           help="join a multi-process run (--batch-size is the global batch)")
    processes.add_argument("--coordinator", metavar="HOST:PORT",
                           help="address of process 0, which the others connect to")
    processes.add_argument("--num-processes", type=positive_int, metavar="N",
                           help="number of processes in the run")
    processes.add_argument("--process-id", type=non_negative_int, metavar="I",
                           help="this process's rank, 0 to N-1")


def _choices(entries: dict) -> str:
    return ", ".join(f"{name} ({entry.summary})" for name, entry in entries.items())


def _recipes_of_networks() -> str:
    return ", ".join(f"{entry.recipe} for {name}" for name, entry in catalog.NETWORKS.items())


def _percents(shares: tuple) -> str:
    return " to ".join(f"{share:.0%}" for share in shares).replace("%", "%%")  # argparse


def _patiences() -> str:
    return " and ".join(f"{recipe.patience} for {name}"
                        for name, recipe in catalog.RECIPES.items())


def _announce_stop(signum: int) -> None:
    say(f"\n{PROG}: {signal.Signals(signum).name} received: stopping at the end of this "
         f"batch (press Ctrl-C again to stop at once)", sys.stderr)


def run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """Run the command; returns the exit status."""
    # Fail before a long training, not after it.
    if args.bidirectional and args.latent_dim % 2:
        parser.error(f"--bidirectional needs an even --latent-dim (each direction has half "
                     f"the units), got {args.latent_dim}")
    if args.resume and not args.checkpoint:
        parser.error("--resume needs --checkpoint FILE, the file to continue from")
    given = [flag for flag, value in (("--coordinator", args.coordinator),
                                      ("--num-processes", args.num_processes),
                                      ("--process-id", args.process_id)) if value is not None]
    if given and not args.distributed:
        parser.error(f"{', '.join(given)} only apply with --distributed")
    if args.feature_dropout is not None and not args.features_column:
        parser.error("--feature-dropout only applies with --features-column")
    check_writable(args.output, "--output")
    if args.checkpoint:
        check_writable(args.checkpoint, "--checkpoint")
        if args.resume and os.path.exists(args.checkpoint):
            check_model_path(args.checkpoint)
    if args.plot:
        check_writable(args.plot, "--plot")
        pyplot()
    columns = columns_of(args)
    if args.conversation:
        if columns:
            parser.error("--source-column, --target-column and --features-column read a "
                         "pairs file, not a --conversation")
        pairs = conversation_pairs(read_lines(args.conversation), args.conversation)
        if args.limit:
            pairs = pairs[:args.limit]
    else:
        check_columns(columns, parser)
        pairs = read_pairs(args.pairs, limit=args.limit, **columns)
    if args.validation_split and int(len(pairs) * args.validation_split) < 1:
        parser.error(f"--validation-split {args.validation_split} of {len(pairs)} pairs "
                     f"leaves no pair for validation")

    import keras

    from ..encoder import SentenceToCharVecEncoder
    from ..generator import CharBasedSeq2SeqGenerator
    from ..training import distributed
    from ..training.callbacks import StopOnSignal
    from ..training.recipes import default_loss, default_optimizer

    distribution = None
    if args.distributed:  # first: joining the run must come before any backend computation
        distribution = distributed.initialize(args.coordinator, args.num_processes,
                                              args.process_id)
    main_process = distributed.is_main_process()
    if args.seed is not None:
        keras.utils.set_random_seed(args.seed)
    try:
        encoder = SentenceToCharVecEncoder.from_pairs(
            pairs, source_sep=args.source_sep, target_sep=args.target_sep,
            features_sep=args.features_sep)
    except ValueError as error:  # a separator that cannot be one
        parser.error(one_line(error))
    maxlen = args.maxlen or encoder.maxlen_for(pairs)
    what = "characters" if args.source_sep is None and args.target_sep is None else "units"
    tags = f", {len(encoder.features)} distinct tags" if encoder.features else ""
    if main_process:
        say(f"{len(pairs)} pairs, {len(encoder.characters)} distinct {what}{tags}, maxlen "
             f"{maxlen}{' (derived from the data)' if not args.maxlen else ''}")
    network = {"network": args.network, **{
        option.name: getattr(args, option.name) for entry in catalog.NETWORKS.values()
        for option in entry.options if option.command_line}}
    try:
        generator = CharBasedSeq2SeqGenerator(
            encoder, latent_dim=args.latent_dim, maxlen=maxlen, reverse_input=args.reverse_input,
            **{key: value for key, value in network.items() if value is not None})
    except (TypeError, ValueError) as error:  # an option of another network
        parser.error(one_line(error))
    recipe = args.recipe or generator.network.recipe
    try:
        optimizer = keras.optimizers.get(args.optimizer or default_optimizer(recipe))
    except ValueError:
        parser.error(f"--optimizer: unknown Keras optimizer {args.optimizer!r}")
    if args.learning_rate is not None:
        optimizer.learning_rate = args.learning_rate
    generator.compile(optimizer=optimizer, loss=default_loss(recipe))
    with StopOnSignal(_announce_stop) as guard:
        try:
            history = generator.train_pairs(
                pairs, batch_size=args.batch_size, epochs=args.epochs,
                validation_split="auto" if args.validation_split is None
                else args.validation_split,
                early_stopping="auto" if args.early_stopping is None else args.early_stopping,
                seed=args.seed, recipe=recipe, time_budget=args.time_budget,
                feature_dropout=args.feature_dropout,
                verbose=progress(args.quiet or not main_process), callbacks=[guard],
                checkpoint=args.checkpoint, resume=args.resume, distribution=distribution)
        except TrainingStopped as stop:
            return _save_stopped(args, generator, stop.signum, main_process)
        except KeyboardInterrupt:
            if args.checkpoint and os.path.exists(args.checkpoint):
                say(f"{PROG}: the last complete epoch is in {args.checkpoint}; go on with: "
                     f"{_resume_command(args)}", sys.stderr)
            raise
    if not main_process:
        return 0
    generator.save_compact_model(args.output, final=args.final)
    summary = f"trained to epoch {generator.epochs_trained}"
    if args.quiet and history.selection is not None:
        # Otherwise training has just said which epoch it kept, and why.
        summary += (f", the weights of epoch {history.selection.epoch} kept "
                    f"({history.selection.describe()})")
    say(f"{summary}; model saved to {args.output}")
    if args.plot:
        plot_history(history.history, args.plot)
        say(f"training curves saved to {args.plot}")
    return 0


def _resume_command(args: argparse.Namespace) -> str:
    """The command that continues an interrupted ``train`` run."""
    argv = list(args.argv)
    if not args.checkpoint:
        # The output file was saved with the optimizer state: it serves as the checkpoint.
        argv += ["--checkpoint", args.output]
    if not args.resume:
        argv.append("--resume")
    return f"{invocation()} {shlex.join(argv)}"


def _save_stopped(args: argparse.Namespace, generator: Any, signum: int,
                  main_process: bool = True) -> int:
    """After a stop request: save the best completed epoch and say how to go on (in a
    multi-process run, every process takes the epoch's weights, process 0 saves them)."""
    status = 128 + signum
    selection = generator.selection
    done = generator.epochs_trained
    # The saved weights are those of the best epoch: resuming from this file starts after it.
    generator.restore_selected()
    if not main_process:
        return status
    if selection is None:
        say(f"{PROG}: stopped before the first epoch ended; nothing was saved", sys.stderr)
        if args.checkpoint and os.path.exists(args.checkpoint):
            say(f"{PROG}: {args.checkpoint} still holds the run so far; go on with: "
                 f"{_resume_command(args)}", sys.stderr)
        return status
    final = args.final and bool(args.checkpoint)  # without a checkpoint, keep what resumes
    generator.save_compact_model(args.output, final=final)
    say(f"{PROG}: stopped during epoch {done + 1}; the model of epoch "
         f"{selection.epoch} ({selection.describe()}, the best so far) is saved to "
         f"{args.output}", sys.stderr)
    if args.checkpoint:
        say(f"{PROG}: {args.checkpoint} holds epoch {done}; go on with: "
             f"{_resume_command(args)}", sys.stderr)
    else:
        say(f"{PROG}: go on from it with: {_resume_command(args)}", sys.stderr)
    return status
