"""A transduction benchmark's peer: yoyodyne 0.5.27 trained for a wall-clock budget, then decoded.

yoyodyne (CUNY-CL, the SIGMORPHON community's character-level seq2seq library, on PyPI) runs
by subprocess in the virtual environment that ``setup_yoyodyne.sh`` beside this file installs
(outside the repository, reused when present); this module needs only the standard library.

What it runs. :func:`train_peer` writes the triples as yoyodyne's TSV files,
``source<TAB>target`` or, with features, ``source<TAB>target<TAB>tag;tag;...`` (the
CoNLL-SIGMORPHON 2017+ layout: ``features_col: 3``, ``features_sep: ";"``), written with
Python's ``csv`` module so that a field holding a quote or a tab survives yoyodyne's
``csv.reader``. Sources are split into characters (``source_sep: ""``); targets into
characters, or on ``target_sep`` when given (G2P: ``" "``, each phoneme one symbol). It
writes the whole configuration as one JSON file (:func:`fit_config`; JSON is YAML) and runs::

    yoyodyne fit --config WORK/fit.json

with ``trainer.max_time`` set to the budget, then returns the checkpoint with the best
validation accuracy. :func:`decode_peer` writes the inputs (an empty target column) and runs::

    yoyodyne predict --config WORK/predict.json --ckpt_path CHECKPOINT

with the training run's data and model settings, no training or validation file,
``data.target_col: 0`` and ``prediction.path``; greedy (``beam_width`` 1, yoyodyne's default).

The networks (:func:`hyperparameters`, keyword ``hparams`` overrides any of them):

- ``attentive_lstm``: ``yoyodyne.models.SoftAttentionLSTMModel``, the sizes of yoyodyne's
  example ``configs/soft_attention_lstm.yaml`` (MED, Kann & Schuetze 2016): a bidirectional
  1-layer LSTM encoder of 100 units a direction, an LSTM decoder of 100 units with soft
  attention, 300-dimensional embeddings shared by source and target, dropout 0.3. Its example
  trains MED's way (Adadelta, lr 1, batches of 20) and says that most now prefer Adam and
  larger batches: here yoyodyne's default optimiser, Adam with lr 0.001, and its default batch
  size, 32; gradients clipped at norm 3 (yoyodyne's ``configs/trainer.yaml``).
- ``transformer``: ``yoyodyne.models.TransformerModel`` with Wu, Cotterell & Hulden (2021)'s
  "smaller transformer" (yoyodyne's ``configs/transformer.yaml``; the sizes of their
  SIGMORPHON scripts): 4 encoder and 4 decoder layers, 4 heads, 256-dimensional embeddings,
  feed-forward layers of 1024, dropout 0.3, label smoothing 0.1, Adam (lr 0.001, beta2 0.98),
  batches of 400, gradients clipped at norm 1, and yoyodyne's ``WarmupInverseSquareRoot``
  schedule, which yoyodyne steps once an epoch: linear warm-up over 10 epochs (its config's
  value; Wu et al. warm up over 4,000 steps), then decay with the inverse square root.
- With features: the source encoder also encodes the tags (``features_encoder: true``);
  for the transformer it is ``FeatureInvariantTransformerEncoder`` (yoyodyne's
  ``configs/transformer_invariant.yaml``: tags get no positions, Wu et al.'s tag
  transformer); for the LSTM, ``configs/soft_attention_lstm_shared.yaml``.

The budget. Lightning's own limit, ``trainer.max_time`` (whole seconds, at least 1), with
``max_epochs: -1``: its clock starts when the training loop starts (after imports, the index,
building the model and two sanity-check validation batches) and is checked after every
training batch; when it is spent, Lightning validates once more, so that the checkpoint
callback sees the last weights, and stops. Validation runs after every epoch; the
checkpoint callback (``monitor: val_accuracy``, ``mode: max``, ``save_top_k: 1``) keeps the
one with the best validation accuracy (yoyodyne's ``configs/accuracy_checkpoint.yaml``).
yoyodyne's validation accuracy (teacher forcing is on: both models' defaults) is the exact
match of teacher-forced predictions, each symbol predicted from the gold prefix, not of
greedy decoding. ``train_seconds`` is the wall time of the
whole ``yoyodyne fit`` process, so it exceeds the budget by the start-up and that last
validation.

Lengths. yoyodyne refuses a source longer than ``max_source_length`` and stops decoding at
``max_target_length``: the first is twice the longest training or validation source (at
least 64), the second the longest training or validation text in symbols (source or target,
as the library's ``maxlen``) plus one, because yoyodyne 0.5.27's transformer fails in
training on a target of exactly ``max_target_length`` symbols (its decoder's positions are
one too few for START + target + END); outputs may so be one symbol longer than the
library's. Longer decoding inputs are cut to the limit, with a warning.

Decoding time is the predict loop's: from the moment the prediction file is created (after
the model and the checkpoint are loaded) until its last write; the process's wall time is
returned by :func:`decode_peer_timed` as ``wall_seconds``.

Threads: PyTorch's defaults (every core) and the one data-loading process yoyodyne starts
for each data loader, unless the caller sets ``OMP_NUM_THREADS``. Everything runs on the CPU
(``trainer.accelerator: cpu``).
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple, Union

HERE = Path(__file__).resolve().parent
CACHE = Path(os.environ.get("SHORTTEXT_S2S_PEER_CACHE",
                            Path.home() / ".cache" / "shorttext-s2s-peer"))
ARCHS = ("attentive_lstm", "transformer")
FEATURES_SEP = ";"

Features = Union[None, str, Sequence[str]]
Triple = Tuple[str, str, Features]


# --- the environment ----------------------------------------------------------------------------

def setup() -> Path:
    """The bin folder of the yoyodyne environment, installed by ``setup_yoyodyne.sh`` when
    missing (its log goes to standard error)."""
    done = subprocess.run(["bash", str(HERE / "setup_yoyodyne.sh")], stdout=subprocess.PIPE,
                          text=True, check=True)
    return Path(done.stdout.strip().splitlines()[-1])


def _env() -> dict:
    # No Weights & Biases (yoyodyne imports wandb); unbuffered logs.
    return dict(os.environ, PYTHONUNBUFFERED="1", WANDB_MODE="disabled", WANDB_SILENT="true")


# --- data files ---------------------------------------------------------------------------------

def _features_text(features: Features) -> str:
    if features is None:
        return ""
    if isinstance(features, str):
        return features
    return FEATURES_SEP.join(features)


def _target_symbols(target: str, target_sep: Optional[str]) -> List[str]:
    return target.split(target_sep) if target_sep else list(target)


def write_tsv(path: Path, rows: Sequence[Sequence[str]]) -> None:
    """Rows as yoyodyne reads them (``csv.reader`` with tabs): quoted only where needed."""
    with open(path, "w", encoding="utf-8", newline="") as sink:
        writer = csv.writer(sink, delimiter="\t", lineterminator="\n")
        writer.writerows(rows)


def _rows(triples: Sequence[Triple], features: bool) -> List[List[str]]:
    rows = []
    for source, target, feats in triples:
        row = [source, target]
        if features:
            row.append(_features_text(feats))
        rows.append(row)
    return rows


# --- the configuration --------------------------------------------------------------------------

def hyperparameters(arch: str) -> Dict[str, object]:
    """The defaults of ``arch`` (see the module's docstring for their sources)."""
    if arch == "attentive_lstm":
        return {"embedding_size": 300, "hidden_size": 100, "layers": 1, "dropout": 0.3,
                "label_smoothing": 0.0, "lr": 0.001, "beta2": 0.999, "batch_size": 32,
                "gradient_clip_val": 3.0, "warmup_epochs": None}
    if arch == "transformer":
        return {"embedding_size": 256, "hidden_size": 1024, "layers": 4, "attention_heads": 4,
                "dropout": 0.3, "label_smoothing": 0.1, "lr": 0.001, "beta2": 0.98,
                "batch_size": 400, "gradient_clip_val": 1.0, "warmup_epochs": 10}
    raise ValueError(f"unknown arch {arch!r}: one of {ARCHS}")


def model_config(arch: str, features: bool, hp: Dict[str, object]) -> dict:
    """The ``model`` section of the configuration."""
    optimizer = {"class_path": "yoyodyne.optimizers.Adam",
                 "init_args": {"lr": hp["lr"], "beta2": hp["beta2"]}}
    if arch == "attentive_lstm":
        model = {
            "class_path": "yoyodyne.models.SoftAttentionLSTMModel",
            "init_args": {
                "source_encoder": {
                    "class_path": "yoyodyne.models.modules.LSTMEncoder",
                    "init_args": {"bidirectional": True, "dropout": hp["dropout"],
                                  "embedding_size": hp["embedding_size"],
                                  "hidden_size": hp["hidden_size"], "layers": hp["layers"]}},
                "decoder_dropout": hp["dropout"], "decoder_hidden_size": hp["hidden_size"],
                "decoder_layers": hp["layers"], "embedding_size": hp["embedding_size"],
                "label_smoothing": hp["label_smoothing"], "optimizer": optimizer}}
    elif arch == "transformer":
        encoder = ("FeatureInvariantTransformerEncoder" if features else "TransformerEncoder")
        model = {
            "class_path": "yoyodyne.models.TransformerModel",
            "init_args": {
                "source_encoder": {
                    "class_path": f"yoyodyne.models.modules.{encoder}",
                    "init_args": {"attention_heads": hp["attention_heads"],
                                  "dropout": hp["dropout"],
                                  "embedding_size": hp["embedding_size"],
                                  "hidden_size": hp["hidden_size"], "layers": hp["layers"]}},
                "decoder_attention_heads": hp["attention_heads"],
                "decoder_dropout": hp["dropout"], "decoder_hidden_size": hp["hidden_size"],
                "decoder_layers": hp["layers"], "embedding_size": hp["embedding_size"],
                "label_smoothing": hp["label_smoothing"], "optimizer": optimizer}}
    else:
        raise ValueError(f"unknown arch {arch!r}: one of {ARCHS}")
    if hp.get("warmup_epochs"):
        model["init_args"]["scheduler"] = {
            "class_path": "yoyodyne.schedulers.WarmupInverseSquareRoot",
            "init_args": {"warmup_epochs": hp["warmup_epochs"]}}
    if features:
        model["init_args"]["features_encoder"] = True
    return model


def data_config(work: Path, features: bool, target_sep: Optional[str], batch_size: int,
                lengths: Dict[str, int]) -> dict:
    """The ``data`` section (without the paths of the data files)."""
    data = {"model_dir": str(work / "model"), "source_col": 1, "target_col": 2,
            "features_col": 3 if features else 0, "source_sep": "",
            "target_sep": target_sep or "", "batch_size": batch_size, **lengths}
    if features:
        data["features_sep"] = FEATURES_SEP
    return data


def _max_time(seconds: float) -> str:
    """``DD:HH:MM:SS``, Lightning's format, of whole seconds (at least 1)."""
    total = max(1, int(round(seconds)))
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{days:02d}:{hours:02d}:{minutes:02d}:{secs:02d}"


def fit_config(work: Path, arch: str, features: bool, target_sep: Optional[str],
               budget_seconds: float, hp: Dict[str, object], lengths: Dict[str, int],
               seed: int) -> dict:
    """The whole configuration of ``yoyodyne fit`` (paths inside ``work``)."""
    data = data_config(work, features, target_sep, int(hp["batch_size"]), lengths)
    data.update(train=str(work / "train.tsv"), val=str(work / "dev.tsv"))
    return {
        "seed_everything": seed,
        "trainer": {
            "accelerator": "cpu", "devices": 1, "max_epochs": -1,
            "max_time": _max_time(budget_seconds),
            "gradient_clip_val": hp["gradient_clip_val"], "check_val_every_n_epoch": 1,
            "enable_progress_bar": False,
            "logger": {"class_path": "lightning.pytorch.loggers.CSVLogger",
                       "init_args": {"save_dir": str(work / "model")}}},
        "checkpoint": {"filename": "model-{epoch:03d}-{val_accuracy:.4f}",
                       "monitor": "val_accuracy", "mode": "max", "save_top_k": 1,
                       "verbose": True},
        "data": data,
        "model": model_config(arch, features, hp),
    }


# --- training -----------------------------------------------------------------------------------

def _validation_history(model_dir: Path) -> List[Tuple[int, float]]:
    """(epoch, val_accuracy) of each validation, from the CSV logger's metrics.csv."""
    history = []
    for metrics in sorted(model_dir.glob("lightning_logs/version_*/metrics.csv")):
        with open(metrics, encoding="utf-8", newline="") as source:
            for row in csv.DictReader(source):
                if row.get("val_accuracy"):
                    history.append((int(float(row.get("epoch") or 0)),
                                    float(row["val_accuracy"])))
    return history


def train_peer(train_triples: Sequence[Triple], dev_triples: Sequence[Triple],
               workdir: Union[str, Path], arch: str = "attentive_lstm",
               budget_seconds: float = 600.0, features: bool = False,
               target_sep: Optional[str] = None, *, seed: int = 1,
               hparams: Optional[Dict[str, object]] = None) -> dict:
    """Train yoyodyne's ``arch`` on the triples for ``budget_seconds`` of its training loop.

    Args:
        train_triples, dev_triples: (source, target, features) triples; features a string of
            tags separated by ';' (or a sequence of tags), or None when ``features`` is false.
        workdir: a folder for the data, configuration, logs and checkpoints (made if missing;
            what a previous run left there is replaced).
        arch: ``"attentive_lstm"`` or ``"transformer"``.
        budget_seconds: Lightning's ``max_time``.
        features: whether the triples' features are used.
        target_sep: the separator of target symbols (``" "`` for phonemes); None: characters.
        seed: ``seed_everything``.
        hparams: overrides of :func:`hyperparameters`.

    Returns:
        ``checkpoint`` (the path of the best checkpoint by validation accuracy),
        ``train_seconds`` (wall time of ``yoyodyne fit``), ``best_val_accuracy``,
        ``validations`` (how many), ``last_epoch``, ``log``.
    """
    hp = dict(hyperparameters(arch), **(hparams or {}))
    bin_dir = setup()
    work = Path(workdir).resolve()
    work.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(work / "model", ignore_errors=True)
    write_tsv(work / "train.tsv", _rows(train_triples, features))
    write_tsv(work / "dev.tsv", _rows(dev_triples, features))
    both = list(train_triples) + list(dev_triples)
    longest_source = max(len(source) for source, _, _ in both)
    longest_text = max(max(len(source), len(_target_symbols(target, target_sep)))
                       for source, target, _ in both)
    # + 1: yoyodyne 0.5.27's transformer sizes its decoder's positions for
    # max_target_length + 1 but, in training, feeds it START, the target and END: a target of
    # exactly max_target_length symbols fails ("Sequence length 23 exceeds max_length 22").
    lengths = {"max_source_length": max(64, 2 * longest_source),
               "max_target_length": longest_text + 1}
    if features:
        longest_features = max(len(_features_text(f).split(FEATURES_SEP)) for _, _, f in both)
        lengths["max_features_length"] = max(64, 2 * longest_features)
    config = fit_config(work, arch, features, target_sep, budget_seconds, hp, lengths, seed)
    (work / "fit.json").write_text(json.dumps(config, indent=2, ensure_ascii=False),
                                   encoding="utf-8")
    log_path = work / "fit.log"
    started = time.perf_counter()
    with open(log_path, "w", encoding="utf-8") as log:
        done = subprocess.run([str(bin_dir / "yoyodyne"), "fit", "--config",
                               str(work / "fit.json")], stdout=log, stderr=subprocess.STDOUT,
                              env=_env(), cwd=work, check=False)
    seconds = time.perf_counter() - started
    found = sorted((work / "model").glob("lightning_logs/version_*/checkpoints/*.ckpt"),
                   key=lambda path: path.stat().st_mtime)
    if done.returncode != 0 or not found:
        tail = "".join(log_path.read_text(encoding="utf-8").splitlines(True)[-30:])
        raise RuntimeError(f"yoyodyne fit failed (exit status {done.returncode}, "
                           f"{len(found)} checkpoints); log {log_path}:\n{tail}")
    history = _validation_history(work / "model")
    return {"checkpoint": str(found[-1]), "train_seconds": seconds,
            "best_val_accuracy": max((acc for _, acc in history), default=None),
            "validations": len(history),
            "last_epoch": max((epoch for epoch, _ in history), default=None),
            "log": str(log_path)}


# --- decoding -----------------------------------------------------------------------------------

def decode_peer_timed(checkpoint: Union[str, Path], sources: Sequence[str],
                      features_or_none: Optional[Sequence[Features]],
                      workdir: Union[str, Path], target_sep: Optional[str] = None, *,
                      batch_size: int = 256) -> dict:
    """Greedy decoding with ``yoyodyne predict``.

    ``workdir`` is the training run's (its ``fit.json`` and ``model/`` are read).

    Returns:
        ``outputs`` (in order; phonemes joined with single spaces when ``target_sep`` is
        given), ``seconds`` (the predict loop) and ``wall_seconds`` (the process).
    """
    bin_dir = setup()
    work = Path(workdir).resolve()
    trained = json.loads((work / "fit.json").read_text(encoding="utf-8"))
    data = dict(trained["data"])
    features = data.get("features_col", 0) != 0
    if features and features_or_none is None:
        raise ValueError("the model was trained with features: give them")
    data.pop("train", None)
    data.pop("val", None)
    data.update(predict=str(work / "predict.tsv"), target_col=0, batch_size=batch_size)
    cut = 0
    rows = []
    for i, source in enumerate(sources):
        if len(source) > data["max_source_length"]:
            source, cut = source[:data["max_source_length"]], cut + 1
        row = [source, ""]
        if features:
            tags = _features_text(features_or_none[i]).split(FEATURES_SEP)
            if len(tags) > data["max_features_length"]:
                tags, cut = tags[:data["max_features_length"]], cut + 1
            row.append(FEATURES_SEP.join(tags))
        rows.append(row)
    if cut:
        print(f"yoyodyne peer: {cut} inputs cut to the model's length limits", file=sys.stderr)
    write_tsv(work / "predict.tsv", rows)
    out = work / "predictions.txt"
    if out.exists():
        out.unlink()
    config = {"seed_everything": trained.get("seed_everything", 1),
              "trainer": {"accelerator": "cpu", "devices": 1, "enable_progress_bar": False,
                          "logger": False},
              "data": data, "model": trained["model"], "prediction": {"path": str(out)}}
    (work / "predict.json").write_text(json.dumps(config, indent=2, ensure_ascii=False),
                                       encoding="utf-8")
    log_path = work / "predict.log"
    started = time.perf_counter()
    loop_start = None
    with open(log_path, "w", encoding="utf-8") as log:
        process = subprocess.Popen([str(bin_dir / "yoyodyne"), "predict", "--config",
                                    str(work / "predict.json"), "--ckpt_path",
                                    str(checkpoint)], stdout=log, stderr=subprocess.STDOUT,
                                   env=_env(), cwd=work)
        while process.poll() is None:
            if loop_start is None and out.exists():
                loop_start = time.time()
            time.sleep(0.01)
    wall = time.perf_counter() - started
    if process.returncode != 0 or not out.exists():
        tail = "".join(log_path.read_text(encoding="utf-8").splitlines(True)[-30:])
        raise RuntimeError(f"yoyodyne predict failed (exit status {process.returncode}); "
                           f"log {log_path}:\n{tail}")
    loop_end = out.stat().st_mtime
    seconds = loop_end - loop_start if loop_start is not None else wall
    outputs = out.read_text(encoding="utf-8").split("\n")[:len(sources)]
    if len(outputs) != len(sources):
        raise RuntimeError(f"yoyodyne wrote {len(outputs)} predictions for {len(sources)} "
                           f"inputs ({out})")
    if target_sep and target_sep != " ":
        outputs = [" ".join(line.split(target_sep)) for line in outputs]
    return {"outputs": outputs, "seconds": max(seconds, 0.0), "wall_seconds": wall}


def decode_peer(checkpoint: Union[str, Path], sources: Sequence[str],
                features_or_none: Optional[Sequence[Features]], workdir: Union[str, Path],
                target_sep: Optional[str] = None) -> Tuple[List[str], float]:
    """Greedy outputs in order, and the seconds of the predict loop (see
    :func:`decode_peer_timed`)."""
    done = decode_peer_timed(checkpoint, sources, features_or_none, workdir, target_sep)
    return done["outputs"], done["seconds"]


# --- a quick check ------------------------------------------------------------------------------

def _read_sigmorphon(path: Path) -> List[Triple]:
    """lemma<TAB>form<TAB>tags lines as (lemma, form, tags) triples."""
    triples = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            lemma, form, tags = line.split("\t")[:3]
            triples.append((lemma, form, tags))
    return triples


def main(argv: Optional[Sequence[str]] = None) -> None:
    """Train on a SIGMORPHON 2022 language for a budget, decode its .gold, print accuracy."""
    import argparse
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("train", type=Path)
    parser.add_argument("dev", type=Path)
    parser.add_argument("gold", type=Path)
    parser.add_argument("--arch", choices=ARCHS, default="attentive_lstm")
    parser.add_argument("--budget", type=float, default=90.0)
    parser.add_argument("--workdir", type=Path, required=True)
    args = parser.parse_args(argv)
    train, dev, gold = (_read_sigmorphon(p) for p in (args.train, args.dev, args.gold))
    trained = train_peer(train, dev, args.workdir, arch=args.arch,
                         budget_seconds=args.budget, features=True)
    timed = decode_peer_timed(trained["checkpoint"], [s for s, _, _ in gold],
                              [f for _, _, f in gold], args.workdir)
    correct = sum(out == form for out, (_, form, _) in zip(timed["outputs"], gold))
    print(json.dumps({"arch": args.arch, "budget_s": args.budget, **trained,
                      "decode_seconds": round(timed["seconds"], 2),
                      "decode_wall_seconds": round(timed["wall_seconds"], 2),
                      "accuracy": round(100.0 * correct / len(gold), 2), "n": len(gold)},
                     indent=1))


if __name__ == "__main__":
    main()
