"""What the library offers by name, in one place that imports neither Keras nor a backend.

The networks, the decoding strategies, the training recipes, the export formats, the metrics,
the server's limits and the keys of the files the library writes are each defined here once,
with their options and defaults. Everything else reads them: the classes that implement an
entry take their name and defaults from it, and the command line, the server's request
schema and the ONNX runtime check what they are given against it before any backend is
imported (seconds).

An entry names the class that implements it (``"module:Class"``), imported when first used,
so adding a network or a strategy is one new module and one entry here (or a call of
:func:`register` from another package); the command line's choices and flags follow.

Example:

>>> sorted(NETWORKS)
['attention', 'lstm', 'transformer']
>>> STRATEGIES[BEAM].defaults()
{'beam_width': 5, 'length_penalty': 1.0, 'num_results': 1}
>>> strategy_options(SAMPLE, {"temperature": 0.5, "top_k": None, "beam_width": None})
{'temperature': 0.5}
"""

from __future__ import annotations

from collections.abc import Mapping as MappingABC
from typing import Any, Dict, Iterator, Mapping, Optional, Tuple

from .entries import Entry, Metric, Option, Recipe

__all__ = ["Option", "Entry", "Recipe", "Metric", "NETWORKS", "STRATEGIES", "RECIPES",
           "EXPORT_FORMATS", "EXPORTED_STRATEGIES", "METRICS", "SERVER_LIMITS", "SERVE_OPTIONS",
           "DEFAULT_NETWORK", "DEFAULT_STRATEGY", "MIN_VALIDATION_PAIRS", "VALIDATION_PAIRS",
           "VALIDATION_SHARES", "MAX_TEMPERATURE", "ONNX_METADATA_KEY",
           "MODEL_FORMAT", "MODEL_SUFFIX", "STRATEGY_OPTIONS", "MisplacedOption",
           "strategy_options", "check_recipe", "register", "unregister", "CatalogName", "Classes", "entry_of",
           "SERVER_WARMUP", "LOG_LEVELS", "LSTM", "ATTENTION", "TRANSFORMER", "GREEDY",
           "SAMPLE", "BEAM", "KERAS_EXAMPLE", "SMALL_DATA", "SAVED_MODEL", "ONNX"]

# The names, each written once: code that means one of them uses these constants.
#: The network of the Keras example and shorttext.
LSTM = "lstm"
#: The LSTM decoder attending to a bidirectional encoder.
ATTENTION = "attention"
#: The small Transformer.
TRANSFORMER = "transformer"
#: Greedy decoding.
GREEDY = "greedy"
#: Sampling.
SAMPLE = "sample"
#: Beam search.
BEAM = "beam"
#: The Keras example's recipe.
KERAS_EXAMPLE = "keras-example"
#: The recipe for a few thousand to a few hundred thousand pairs.
SMALL_DATA = "small-data"
#: The TensorFlow SavedModel export.
SAVED_MODEL = "saved_model"
#: The ONNX export (and the extra that installs its converter).
ONNX = "onnx"


def _options(*options: Option) -> Tuple[Option, ...]:
    return tuple(options)


_DROPOUT_HELP = "dropout rate"
NETWORKS: Dict[str, Entry] = {entry.name: entry for entry in (
    Entry(LSTM, "shorttext_s2s.networks.lstm:LSTMNetwork",
          "an encoder LSTM whose final states start the decoder LSTM, as in the Keras example",
          _options(Option("bidirectional", False, "encode inputs with a forward and a "
                          "backward LSTM of half the units each (trains faster on a CPU)",
                          kind="flag")),
          recipe=KERAS_EXAMPLE),
    Entry(ATTENTION, "shorttext_s2s.networks.attention:AttentionNetwork",
          "an LSTM decoder attending to a bidirectional encoder's outputs",
          _options(Option("embedding_dim", 64, "size of the character embeddings"),
                   Option("layers", 1, "stacked LSTM layers"),
                   Option("dropout", 0.2, _DROPOUT_HELP, kind="fraction", metavar="F"),
                   Option("context_layers", 0, "LSTM layers above the attention that read "
                          "the context vector; 1 pays on pronunciations, see the networks "
                          "page", kind="non_negative_int")),
          recipe=SMALL_DATA),
    Entry(TRANSFORMER, "shorttext_s2s.networks.transformer:TransformerNetwork",
          "a small encoder-decoder Transformer",
          _options(Option("layers", 2, "Transformer blocks"),
                   Option("heads", 4, "attention heads, a divisor of --latent-dim"),
                   Option("feedforward_dim", None, "units of the feed-forward layers "
                          "(none: 4 x --latent-dim)"),
                   Option("dropout", 0.1, _DROPOUT_HELP, kind="fraction", metavar="F")),
          recipe=SMALL_DATA),
)}

#: The network of new models when none is named: the one that translates best at the quality
#: benchmark's budget (docs/networks.rst has the figures). Files that name no network (those
#: of release 0.1.0) hold ``"lstm"``.
DEFAULT_NETWORK = ATTENTION

STRATEGIES: Dict[str, Entry] = {entry.name: entry for entry in (
    Entry(GREEDY, "shorttext_s2s.decoding.greedy:GreedyStrategy",
          "the most likely next unit"),
    Entry(SAMPLE, "shorttext_s2s.decoding.sampling:SamplingStrategy",
          "each next unit drawn from the predicted distribution",
          _options(Option("temperature", 1.0, "sample: divide the log-probabilities by T; "
                          "below 1 is more conservative, above 1 more varied",
                          kind="positive_float", metavar="T"),
                   Option("top_k", None, "sample: draw only among the K most likely units",
                          metavar="K"))),
    Entry(BEAM, "shorttext_s2s.decoding.beam:BeamSearchStrategy",
          "the best of several hypotheses",
          _options(Option("beam_width", 5, "beam: number of hypotheses kept at each step"),
                   Option("length_penalty", 1.0, "beam: rank by log-probability / length ** "
                          "P", kind="non_negative_float", metavar="P", command_line=False),
                   Option("num_results", 1, "beam: answers per input, best first",
                          command_line=False))),
)}

#: The strategy of decoding when none is named.
DEFAULT_STRATEGY = GREEDY

#: Below this many pairs no validation share is held out by default: each pair is worth more
#: to training than to choosing an epoch
#: (:func:`~shorttext_s2s.training.selection.default_validation_share`).
MIN_VALIDATION_PAIRS = 2000
#: How many pairs the default validation share aims at: enough to tell epochs apart by a few
#: tenths of a point of word accuracy, few enough to decode in a second or two.
VALIDATION_PAIRS = 1000
#: The smallest and the largest default validation share.
VALIDATION_SHARES = (0.01, 0.1)

RECIPES: Dict[str, Recipe] = {recipe.name: recipe for recipe in (
    Recipe(KERAS_EXAMPLE, "RMSprop and cross-entropy, as the Keras example and shorttext; "
                          "selects by the validation loss", patience=5),
    # 6 epochs are three scorings of the validation outputs, every second epoch.
    Recipe(SMALL_DATA, "Adam, label smoothing, and selection by the decoded validation "
                       "outputs", patience=6, decays_with_budget=True),
)}

EXPORT_FORMATS: Dict[str, Entry] = {entry.name: entry for entry in (
    Entry(SAVED_MODEL, "", "a TensorFlow SavedModel directory, text in and text out"),
    Entry(ONNX, "", "one ONNX file, ids in and ids out, run by shorttext_s2s.export.runtime"),
)}
#: The strategies an export can build in: sampling would need a random stream that the
#: serving runtime manages.
EXPORTED_STRATEGIES: Tuple[str, ...] = (GREEDY, BEAM)

METRICS: Dict[str, Metric] = {metric.name: metric for metric in (
    Metric("exact_match", "exact match", True),
    Metric("cer", "CER", False),
    Metric("ser", "SER", False),
    Metric("chrf", "chrF", True, extra="metrics"),
    Metric("bleu", "BLEU", True, extra="metrics"),
)}

#: The server's limits and batching (:class:`shorttext_s2s.serving.ServerSettings`).
SERVER_LIMITS: Dict[str, Option] = {option.name: option for option in (
    Option("max_delay_ms", 5.0, "longest a request waits for others to be decoded with it",
           kind="non_negative_float", metavar="MS"),
    Option("max_batch", 256, "most texts decoded together"),
    Option("max_texts", 64, "most texts in one request"),
    Option("max_chars", 1000, "most characters in one text"),
    Option("max_body_bytes", 1 << 20, "largest request body"),
    Option("max_beam_width", 16, "largest beam_width a request may ask for"),
)}
#: Strategies the server compiles at start-up unless told otherwise.
SERVER_WARMUP: Tuple[str, ...] = (GREEDY,)
#: Highest sampling temperature a request may ask for: far above it the output is noise.
MAX_TEMPERATURE = 10.0

#: How :func:`shorttext_s2s.serving.serve` listens and stops.
SERVE_OPTIONS: Dict[str, Option] = {option.name: option for option in (
    Option("host", "127.0.0.1", "address to listen on; 0.0.0.0 for every interface (the "
           "default answers this machine only)", kind="text", metavar="HOST"),
    Option("port", 8000, "port to listen on; 0 picks a free one", kind="port", metavar="PORT"),
    Option("workers", 1, "worker processes sharing the port, each with its own copy of the "
           "model and its own batching"),
    # Kubernetes' default grace period.
    Option("shutdown_timeout", 30.0, "on SIGTERM or Ctrl-C, how long the requests in flight "
           "are given to finish", kind="non_negative_float", metavar="SECONDS"),
    Option("log_level", "info", "server log level", kind="text", metavar="LEVEL"),
)}
#: uvicorn's log levels, as ``--log-level`` takes them.
LOG_LEVELS = ("critical", "error", "warning", "info", "debug")

#: The ONNX export's metadata key holding the vocabulary and settings (JSON).
ONNX_METADATA_KEY = "shorttext_s2s"
#: The ``format`` attribute of every model file.
MODEL_FORMAT = "shorttext_s2s"
#: The suffix ``savemodel(prefix)`` adds to a prefix.
MODEL_SUFFIX = ".s2s.h5"


def _strategy_options() -> Dict[str, Tuple[str, ...]]:
    return {name: tuple(option.name for option in entry.options)
            for name, entry in STRATEGIES.items()}


#: The options each strategy takes, by strategy name (kept in step by :func:`register`).
STRATEGY_OPTIONS: Dict[str, Tuple[str, ...]] = _strategy_options()

_GROUPS = {"networks": NETWORKS, "strategies": STRATEGIES}


def check_recipe(recipe: Any) -> str:
    """Return ``recipe`` if it names a recipe of :data:`RECIPES`.

    Raises:
        ValueError: it does not.
    """
    if recipe not in RECIPES:
        raise ValueError(f"Received an invalid value for argument `recipe`, expected one of "
                         f"{list(RECIPES)}, got {recipe!r}.")
    return recipe


def register(group: str, entry: Entry) -> None:
    """Add an entry to the catalog: a network (``group="networks"``) or a decoding strategy
    (``"strategies"``) implemented outside the library, or a new one of its own.

    Raises:
        ValueError: an unknown group, or a name already taken.
    """
    entries = _group(group)
    if entry.name in entries:
        raise ValueError(f"Received an invalid value for argument `entry`: the {group} "
                         f"already have {entry.name!r}.")
    entries[entry.name] = entry
    _changed()


def unregister(group: str, name: str) -> None:
    """Take an entry that :func:`register` added out of the catalog again."""
    del _group(group)[name]
    _changed()


def _changed() -> None:
    """Bring what is derived from the entries in step with them."""
    STRATEGY_OPTIONS.clear()
    STRATEGY_OPTIONS.update(_strategy_options())
    _ENTRY_OF.clear()


def _group(group: str) -> Dict[str, Entry]:
    try:
        return _GROUPS[group]
    except KeyError:
        raise ValueError(f"Received an invalid value for argument `group`, expected one of "
                         f"{sorted(_GROUPS)}, got {group!r}.") from None


# entry_of's answers by (group, class): a name is read at every decoding call (cache keys).
_ENTRY_OF: Dict[Tuple[str, type], Optional[Entry]] = {}


def entry_of(group: str, cls: type) -> Optional[Entry]:
    """The entry of ``group`` that ``cls`` or its nearest base class implements, or None."""
    key = (group, cls)
    if key not in _ENTRY_OF:
        targets = {entry.target: entry for entry in _group(group).values()}
        _ENTRY_OF[key] = next((targets[name] for name in (
            f"{base.__module__}:{base.__qualname__}" for base in cls.__mro__)
            if name in targets), None)
    return _ENTRY_OF[key]


class Classes(MappingABC):
    """The classes of a group of entries by name (``Classes("networks")["lstm"]`` is
    :class:`~shorttext_s2s.networks.LSTMNetwork`), each imported when first looked up; it
    follows the catalog as entries are registered."""

    def __init__(self, group: str) -> None:
        self.group = group
        _group(group)

    def __getitem__(self, name: str) -> type:
        return _group(self.group)[name].load()

    def __iter__(self) -> Iterator[str]:
        return iter(_group(self.group))

    def __len__(self) -> int:
        return len(_group(self.group))

    def __repr__(self) -> str:
        return f"Classes({self.group!r}: {', '.join(self)})"


class CatalogName:
    """The ``name`` of a class that implements an entry of ``group``, read from the catalog
    (on the class and on its instances), so that the name is written once.

    A subclass that is no entry of its own has its nearest registered base's name; a class
    may still set ``name`` itself (a strategy made in a notebook, say).
    """

    def __init__(self, group: str) -> None:
        self.group = group

    def __get__(self, instance: Any, owner: type) -> str:
        entry = entry_of(self.group, owner)
        if entry is None:
            raise AttributeError(f"{owner.__qualname__} is in no entry of the catalog's "
                                 f"{self.group}: register it, or give it a `name`.")
        return entry.name


class MisplacedOption(ValueError):
    """An option of another strategy (``option``, which belongs to ``owner``)."""

    def __init__(self, option: str, owner: Optional[str], strategy: str) -> None:
        self.option, self.owner, self.strategy = option, owner, strategy
        where = f"applies to strategy {owner!r}" if owner else "is no strategy's option"
        super().__init__(f"{option} {where}, not {strategy!r}")


def strategy_options(strategy: str, options: Mapping[str, Any]) -> Dict[str, Any]:
    """The options given (not ``None``) that ``strategy`` takes.

    Raises:
        ValueError: an unknown strategy.
        MisplacedOption: an option given that belongs to another strategy.

    Example:

    >>> strategy_options("beam", {"beam_width": 4, "temperature": None})
    {'beam_width': 4}
    """
    if strategy not in STRATEGY_OPTIONS:
        raise ValueError(f"Received an invalid value for argument `strategy`, expected one of "
                         f"{sorted(STRATEGY_OPTIONS)}, got {strategy!r}.")
    given = {name: value for name, value in options.items() if value is not None}
    for name in given:
        if name not in STRATEGY_OPTIONS[strategy]:
            owner = next((other for other, names in STRATEGY_OPTIONS.items() if name in names),
                         None)
            raise MisplacedOption(name, owner, strategy)
    return given

