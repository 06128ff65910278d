"""``shorttext-s2s train``: train, save, and keep the work when interrupted."""

from __future__ import annotations

import argparse
import os
import shlex
import signal
import sys
from typing import Any

from ..exceptions import TrainingStopped

from .common import (
    PROG,
    _check_model_path,
    _check_columns,
    _check_writable,
    _columns,
    _invocation,
    _one_line,
    _progress,
    _say,
)

#: History keys of the accuracy metric, in order of preference: the library's masked metric,
#: then Keras's own when a model is compiled with ``metrics=["accuracy"]``.
ACCURACY_KEYS = ("char_accuracy", "accuracy")


def _announce_stop(signum: int) -> None:
    _say(f"\n{PROG}: {signal.Signals(signum).name} received: stopping at the end of this "
         f"batch (press Ctrl-C again to stop at once)", sys.stderr)


def _cmd_train(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from ..data import conversation_pairs, read_lines, read_pairs

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
    _check_writable(args.output, "--output")
    if args.checkpoint:
        _check_writable(args.checkpoint, "--checkpoint")
        if args.resume and os.path.exists(args.checkpoint):
            _check_model_path(args.checkpoint)
    if args.plot:
        _check_writable(args.plot, "--plot")
        _pyplot()
    columns = _columns(args)
    if args.conversation:
        if columns:
            parser.error("--source-column, --target-column and --features-column read a "
                         "pairs file, not a --conversation")
        pairs = conversation_pairs(read_lines(args.conversation), args.conversation)
        if args.limit:
            pairs = pairs[:args.limit]
    else:
        _check_columns(columns, parser)
        pairs = read_pairs(args.pairs, limit=args.limit, **columns)
    if args.validation_split and int(len(pairs) * args.validation_split) < 1:
        parser.error(f"--validation-split {args.validation_split} of {len(pairs)} pairs "
                     f"leaves no pair for validation")

    import keras

    from .. import distributed
    from ..callbacks import StopOnSignal
    from ..encoder import SentenceToCharVecEncoder
    from ..generator import CharBasedSeq2SeqGenerator

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
        parser.error(_one_line(error))
    maxlen = args.maxlen or encoder.maxlen_for(pairs)
    what = "characters" if args.source_sep is None and args.target_sep is None else "units"
    tags = f", {len(encoder.features)} distinct tags" if encoder.features else ""
    if main_process:
        _say(f"{len(pairs)} pairs, {len(encoder.characters)} distinct {what}{tags}, maxlen "
             f"{maxlen}{' (derived from the data)' if not args.maxlen else ''}")
    network = {"network": args.network, "bidirectional": args.bidirectional or None,
               "embedding_dim": args.embedding_dim, "layers": args.layers,
               "context_layers": args.context_layers, "heads": args.heads,
               "feedforward_dim": args.feedforward_dim,
               "dropout": args.dropout}
    try:
        generator = CharBasedSeq2SeqGenerator(
            encoder, latent_dim=args.latent_dim, maxlen=maxlen, reverse_input=args.reverse_input,
            **{key: value for key, value in network.items() if value is not None})
    except (TypeError, ValueError) as error:  # an option of another network
        parser.error(_one_line(error))
    from ..recipes import default_loss, default_optimizer

    recipe = args.recipe or generator.s2sgenerator.network.recipe
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
                validation_split=args.validation_split,
                early_stopping="auto" if args.early_stopping is None else args.early_stopping,
                seed=args.seed, recipe=recipe, time_budget=args.time_budget,
                feature_dropout=args.feature_dropout,
                verbose=_progress(args.quiet or not main_process), callbacks=[guard],
                checkpoint=args.checkpoint, resume=args.resume, distribution=distribution)
        except TrainingStopped as stop:
            return _save_stopped(args, generator, stop.signum, main_process)
        except KeyboardInterrupt:
            if args.checkpoint and os.path.exists(args.checkpoint):
                _say(f"{PROG}: the last complete epoch is in {args.checkpoint}; go on with: "
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


def _save_stopped(args: argparse.Namespace, generator: Any, signum: int,
                  main_process: bool = True) -> int:
    """After a stop request: save the best completed epoch and say how to go on (in a
    multi-process run, every process takes the epoch's weights, process 0 saves them)."""
    status = 128 + signum
    selection = generator.s2sgenerator.selection
    done = generator.epochs_trained
    if selection is not None:
        # The saved weights are those of the best epoch: resuming from this file starts
        # after it.
        generator.s2sgenerator.set_weights(selection.weights, epoch=selection.epoch)
    if not main_process:
        return status
    if selection is None:
        _say(f"{PROG}: stopped before the first epoch ended; nothing was saved", sys.stderr)
        if args.checkpoint and os.path.exists(args.checkpoint):
            _say(f"{PROG}: {args.checkpoint} still holds the run so far; go on with: "
                 f"{_resume_command(args)}", sys.stderr)
        return status
    final = args.final and bool(args.checkpoint)  # without a checkpoint, keep what resumes
    generator.save_compact_model(args.output, final=final)
    _say(f"{PROG}: stopped during epoch {done + 1}; the model of epoch "
         f"{selection.epoch} ({selection.describe()}, the best so far) is saved to "
         f"{args.output}", sys.stderr)
    if args.checkpoint:
        _say(f"{PROG}: {args.checkpoint} holds epoch {done}; go on with: "
             f"{_resume_command(args)}", sys.stderr)
    else:
        _say(f"{PROG}: go on from it with: {_resume_command(args)}", sys.stderr)
    return status


def _pyplot() -> Any:
    from ..extras import import_extra

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
