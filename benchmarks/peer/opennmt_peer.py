"""The quality benchmark's peer: OpenNMT-py 3.5.1 trained for a wall-clock budget, then decoded.

What it runs. :func:`train_peer` writes the pairs as character-level text (each character a
token, separated by spaces; a space is the visible token ``▁`` and any other white-space
character ``▁`` followed by its code point in hex, mapped back when decoding), writes the
OpenNMT-py configuration (:func:`config_text`), builds the vocabularies with
``onmt_build_vocab`` and trains with ``onmt_train`` in the virtual environment that
``setup.sh`` beside this file installs (outside the repository, reused when present).

The network: a 2-layer bidirectional LSTM encoder (``encoder_type: brnn``, 256 units, 128 a
direction), a 2-layer LSTM decoder of 256 units with Luong's general attention and input
feeding, 128-dimensional character embeddings, dropout 0.3, Adam with learning rate 0.001,
batches of 64 sentences, buckets of one pass over the training set (see
:func:`config_text`); OpenNMT-py's other defaults (gradient norm clipped at 5, uniform
initialisation in +-0.1). The library's LSTM has 256 units (two of 128 in its bidirectional
encoder), one-hot inputs, one decoder layer and no attention.

The budget. OpenNMT-py has no time limit, and its speed on a shared CPU is not steady enough
to turn seconds into steps beforehand, so training runs with validation and a checkpoint
every ``checkpoint_steps`` steps and is stopped when the budget is spent. Its clock starts
when OpenNMT-py logs the start of its training loop (after the model is built, as the
library's starts with ``fit``) and the time of a checkpoint is when its log line arrives. A
snapshot at ``t`` seconds is the checkpoint with the lowest validation perplexity of those
written by ``t``, what ``-early_stopping`` would keep. Validating and writing checkpoints
count against the budget, as the library's validation does.

Decoding: ``onmt_translate`` on the CPU, batches of ``decode_batch`` sentences, greedy
(``-beam_size 1 -random_sampling_topk 1``: with beam size 1 and its defaults OpenNMT-py
samples) and beam search (``-beam_size 5``, its default length penalty, ``avg``). Outputs
are at most as long as the longest training or validation text, as the library's
``maxlen`` (``-max_length``); OpenNMT-py's default limit relative to the input,
``-max_length_ratio 1.25`` of the longest input of the batch, would cut French outputs
short and is turned off. Decoding speed is the translation time OpenNMT-py reports
(``-report_time``), which leaves out starting Python and loading the model.

Threads: PyTorch's defaults (every core), and OpenNMT-py's 2 data-loading processes, unless
the caller sets ``OMP_NUM_THREADS``.

Used by ``benchmarks/quality_bench.py --systems peer``, which scores the outputs.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

HERE = Path(__file__).resolve().parent
CACHE = Path(os.environ.get("SHORTTEXT_S2S_PEER_CACHE",
                            Path.home() / ".cache" / "shorttext-s2s-peer"))
SPACE = "\u2581"  # ▁, the visible space
UNKNOWN = "<unk>"
DEFAULT_WORKERS = 2  # OpenNMT-py 3.5.1's num_workers

Pair = Tuple[str, str]


# --- character tokens ------------------------------------------------------------------------

def to_tokens(text: str) -> str:
    """``text`` as space-separated character tokens, white space made visible.

    >>> to_tokens("Va !")
    'V a ▁ !'
    """
    return " ".join(SPACE if char == " " else f"{SPACE}{ord(char):x}" if char.isspace()
                    else char for char in text)


def from_tokens(line: str) -> str:
    """The text of an output line of tokens; unknown tokens (``<unk>``) are left out.

    >>> from_tokens(to_tokens("Va\\u202f!"))
    'Va\\u202f!'
    """
    chars = []
    for token in line.split():
        if token == SPACE:
            chars.append(" ")
        elif token.startswith(SPACE):
            try:
                chars.append(chr(int(token[1:], 16)))
            except ValueError:
                chars.append(token)
        elif token != UNKNOWN:
            chars.append(token)
    return "".join(chars)


def write_tokens(path: Path, texts: Sequence[str]) -> None:
    path.write_text("".join(to_tokens(text) + "\n" for text in texts), encoding="utf-8")


# --- the environment and the configuration ----------------------------------------------------

def peer_bin() -> Path:
    """The bin folder of the OpenNMT-py environment, installed by ``setup.sh`` when missing."""
    done = subprocess.run(["bash", str(HERE / "setup.sh")], stdout=subprocess.PIPE, text=True,
                          check=True)
    return Path(done.stdout.strip().splitlines()[-1])


def config_text(work: Path, batch_size: int, checkpoint_steps: int, seed: int,
                bucket_size: int, num_workers: Optional[int] = None) -> str:
    """The OpenNMT-py YAML configuration of the peer (paths inside ``work``).

    ``bucket_size`` should be the training pairs each data-loading process reads in a pass
    (``train_peer`` sets it): OpenNMT-py fills a bucket of examples (by default 262,144),
    sorts it by length and cuts it into shuffled batches; from a smaller corpus it fills the
    bucket by reading the corpus again and again (26 times for 10,000 pairs) before the
    first step, and its batches then hold copies of the same pairs. ``num_workers``:
    data-loading processes (each reads every ``num_workers``-th pair), OpenNMT-py's default
    when None.
    """
    settings = {
        "save_data": work / "data", "src_vocab": work / "vocab.src",
        "tgt_vocab": work / "vocab.tgt", "overwrite": "true",
        "save_model": work / "checkpoints" / "model",
        "save_checkpoint_steps": checkpoint_steps, "keep_checkpoint": -1,
        "valid_steps": checkpoint_steps, "train_steps": 10 ** 7, "report_every": 10,
        "seed": seed,
        # The network.
        "encoder_type": "brnn", "decoder_type": "rnn", "rnn_type": "LSTM", "layers": 2,
        "hidden_size": 256, "word_vec_size": 128, "global_attention": "general",
        "input_feed": 1, "dropout": "[0.3]",
        # The optimisation.
        "optim": "adam", "learning_rate": 0.001, "batch_size": batch_size,
        "batch_type": "sents", "valid_batch_size": batch_size, "bucket_size": bucket_size,
    }
    if num_workers is not None:
        settings["num_workers"] = num_workers
    lines = [f"{key}: {value}" for key, value in settings.items()]
    lines += ["data:"]
    for corpus, prefix in (("corpus_1", "train"), ("valid", "valid")):
        lines += [f"  {corpus}:", f"    path_src: {work / prefix}.src",
                  f"    path_tgt: {work / prefix}.tgt"]
    return "\n".join(lines) + "\n"


# --- training for a budget ---------------------------------------------------------------------

class LogWatcher:
    """Reads a process's output line by line, noting when each line arrived."""

    def __init__(self, process: subprocess.Popen, log_path: Path):
        self.lines: List[Tuple[float, str]] = []
        self._thread = threading.Thread(target=self._read, args=(process, log_path),
                                        daemon=True)
        self._thread.start()

    def _read(self, process, log_path):
        with open(log_path, "w", encoding="utf-8") as log:
            for line in process.stdout:
                self.lines.append((time.perf_counter(), line.rstrip("\n")))
                log.write(line)
                log.flush()

    def find(self, pattern: str) -> Optional[float]:
        for arrived, line in list(self.lines):
            if re.search(pattern, line):
                return arrived
        return None

    def join(self, timeout: float = 30.0) -> None:
        self._thread.join(timeout)


def run_for_budget(command: List[str], budget: float, log_path: Path, env: dict
                   ) -> Tuple[float, List[Tuple[float, str]]]:
    """Run ``onmt_train`` for ``budget`` seconds of its training loop, then stop it.

    Returns:
        The clock's start (``time.perf_counter``) and the output lines with their arrival.
    """
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, env=env, start_new_session=True)
    watcher = LogWatcher(process, log_path)
    started = None
    try:
        while process.poll() is None:
            if started is None:
                started = watcher.find(r"Start training loop")
            elif time.perf_counter() - started >= budget:
                # A checkpoint being written now is after the budget; give it a moment so
                # that the process is not stopped in the middle of the file.
                time.sleep(2.0)
                break
            time.sleep(0.2)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
    watcher.join()
    if started is None:
        tail = "\n".join(line for _, line in watcher.lines[-30:])
        raise RuntimeError(f"onmt_train never started training (exit status "
                           f"{process.returncode}); log {log_path}:\n{tail}")
    return started, watcher.lines


def checkpoints(lines: List[Tuple[float, str]], started: float, batch_size: int) -> List[dict]:
    """Each checkpoint written: its path, seconds of training, validation perplexity, step,
    and training samples/s by then (its steps times the batch size over its seconds)."""
    found, perplexity = [], float("inf")
    for arrived, line in lines:
        valid = re.search(r"Validation perplexity:\s*([0-9.eE+-]+|nan|inf)", line)
        if valid:
            perplexity = float(valid.group(1))
        saved = re.search(r"Saving checkpoint (\S+)", line)
        if saved:
            path = saved.group(1)
            path = path if path.endswith(".pt") else path + ".pt"
            number = int(re.search(r"_step_(\d+)", path).group(1))
            found.append({"path": path, "time_s": arrived - started, "step": number,
                          "perplexity": perplexity,
                          "samples_per_s": number * batch_size / (arrived - started)})
    return found


def select(found: List[dict], snapshot_s: float) -> Optional[dict]:
    """The checkpoint with the lowest validation perplexity written by ``snapshot_s``."""
    candidates = [c for c in found if c["time_s"] <= snapshot_s and os.path.exists(c["path"])]
    return min(candidates, key=lambda c: (c["perplexity"], -c["step"]), default=None)


def translate(bin_dir: Path, model: str, src: Path, out: Path, beam_size: int, batch: int,
              max_length: int, env: dict) -> Tuple[List[str], float]:
    """Decode ``src`` with ``onmt_translate``: the output texts and the seconds it reports."""
    command = [str(bin_dir / "onmt_translate"), "-model", model, "-src", str(src),
               "-output", str(out), "-beam_size", str(beam_size), "-batch_size", str(batch),
               "-batch_type", "sents", "-max_length", str(max_length), "-gpu", "-1",
               "-max_length_ratio", "0", "-report_time", "-seed", "1"]
    if beam_size == 1:
        command += ["-random_sampling_topk", "1"]  # arg-max, whatever the defaults
    started = time.perf_counter()
    done = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, env=env, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"onmt_translate failed:\n{done.stdout[-3000:]}")
    reported = re.search(r"Total translation time \(s\):\s*([0-9.]+)", done.stdout)
    seconds = float(reported.group(1)) if reported else elapsed
    outputs = [from_tokens(line) for line in out.read_text(encoding="utf-8").splitlines()]
    return outputs, seconds


def train_peer(train_pairs: Sequence[Pair], valid_pairs: Sequence[Pair],
               test_sources: Sequence[str], budget: float, snapshots: Sequence[float], *,
               batch_size: int = 64, checkpoint_steps: int = 200, beam_width: int = 5,
               decode_batch: int = 256, seed: int = 1, num_workers: Optional[int] = None,
               keep_files: bool = False
               ) -> List[dict]:
    """Train OpenNMT-py for ``budget`` seconds and decode the test inputs at each snapshot.

    Returns:
        One dict per snapshot: ``snapshot_s``, ``selected`` (the checkpoint's step),
        ``samples_per_s``, ``greedy`` and ``beam`` (the output texts) with ``greedy_s`` and
        ``beam_s`` (seconds of decoding).
    """
    bin_dir = peer_bin()
    CACHE.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="run-", dir=CACHE))
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    failed = True
    try:
        for prefix, pairs in (("train", train_pairs), ("valid", valid_pairs)):
            write_tokens(work / f"{prefix}.src", [source for source, _ in pairs])
            write_tokens(work / f"{prefix}.tgt", [target for _, target in pairs])
        write_tokens(work / "test.src", test_sources)
        # Processes reading the training pairs, each every readers-th pair.
        readers = max(1, DEFAULT_WORKERS if num_workers is None else num_workers)
        config = work / "config.yaml"
        config.write_text(config_text(work, batch_size, checkpoint_steps, seed,
                                       bucket_size=-(-len(train_pairs) // readers),
                                       num_workers=num_workers))
        subprocess.run([str(bin_dir / "onmt_build_vocab"), "-config", str(config),
                        "-n_sample", "-1"], check=True, env=env, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        started, lines = run_for_budget([str(bin_dir / "onmt_train"), "-config", str(config)],
                                         budget, work / "train.log", env)
        found = checkpoints(lines, started, batch_size)
        # The library stops after maxlen - 1 characters, the longest training text.
        max_length = max(len(text) for pair in list(train_pairs) + list(valid_pairs)
                         for text in pair)
        decoded: Dict[str, dict] = {}
        results = []
        for snapshot_s in snapshots:
            chosen = select(found, snapshot_s)
            if chosen is None:
                print(f"OpenNMT-py wrote no checkpoint in its first {snapshot_s:.0f} s: "
                      f"snapshot skipped (log {work / 'train.log'})", flush=True)
                continue
            if chosen["path"] not in decoded:
                outputs = {}
                for name, beam in (("greedy", 1), ("beam", beam_width)):
                    outputs[name], outputs[name + "_s"] = translate(
                        bin_dir, chosen["path"], work / "test.src",
                        work / f"test.{chosen['step']}.{name}", beam, decode_batch,
                        max_length, env)
                decoded[chosen["path"]] = outputs
            # Training speed at this snapshot: from the last checkpoint written by then.
            latest = max((c for c in found if c["time_s"] <= snapshot_s),
                         key=lambda c: c["time_s"])
            results.append(dict(decoded[chosen["path"]], snapshot_s=snapshot_s,
                                selected=f"step {chosen['step']}",
                                samples_per_s=latest["samples_per_s"]))
        failed = False
        return results
    finally:
        if keep_files or failed:
            print(f"OpenNMT-py files kept in {work}", flush=True)
        else:
            shutil.rmtree(work, ignore_errors=True)
