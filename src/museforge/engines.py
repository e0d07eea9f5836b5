"""The engine registry: every generator, built in or third-party, is found through entry points.

An engine is a class with a ``name``, a ``modality``, a ``version``, a ``Params`` dataclass, the
input files it takes (``inputs``) and one entry point ``run(request, generator) -> Artifact``.
Each parameter is a dataclass field made by :func:`param`, which carries its help text and its
range or choices; :func:`make_params` checks every value against them before anything runs, and
the command line and the studio render the same descriptions. Built-in engines are declared in
``pyproject.toml`` under ``[project.entry-points."museforge.engines"]``, exactly as a plugin is.
"""

from __future__ import annotations

import dataclasses
import importlib.metadata
import math
import types
import typing
import warnings
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache, cached_property
from typing import TYPE_CHECKING, Any, ClassVar

from museforge.emotion.moods import Emotion
from museforge.errors import MuseforgeError
from museforge.hashing import sha256_bytes
from museforge.runtime import Progress, no_progress

if TYPE_CHECKING:
    import torch

ENTRY_POINT_GROUP = "museforge.engines"
MODALITIES = ("text", "image", "music", "sculpture")
"""Every kind of artifact a Work may hold, in the order a Work shows them."""
CREATE_MODALITIES = ("text", "image", "music")
"""What ``create`` makes when no modalities are named (a sculpture is asked for)."""
MAX_TEXT_PARAM_CHARS = 65_536
"""The longest text parameter (a note string, tempo changes, stop lines), in characters."""
INPUT_KINDS = ("image", "music", "text", "model")


class ParamError(MuseforgeError):
    """A parameter value that breaks its type, range or choices; front ends rephrase it with
    their own names (``--size``, ``image.size``) from ``name``, ``value`` and ``reason``."""

    def __init__(self, name: str, value: Any, reason: str, message: str | None = None) -> None:
        self.name, self.value, self.reason = name, value, reason
        number = isinstance(value, int | float) and not isinstance(value, bool)
        shown = _num(value) if number else _repr(value)
        super().__init__(message or f"parameter {name}={shown} {reason}")

    def rephrase(self, label: str) -> MuseforgeError:
        """The same fault under a front end's name for the parameter, e.g. ``--size 99999: ...``."""
        return MuseforgeError(f"{label}: {self}")


def param(default: Any, help: str, *, range: tuple[float, float] | None = None,
          choices: tuple[str, ...] | None = None) -> Any:
    """A parameter field: its default, its help text (written once, shown by every front end),
    and the closed range or the choices its value must keep to."""
    metadata: dict[str, Any] = {"help": help}
    if range is not None:
        metadata["range"] = range
    if choices is not None:
        metadata["choices"] = tuple(choices)
    return field(default=default, metadata=metadata)


@dataclass(frozen=True)
class InputSpec:
    """An input file an engine takes: its role, what kind of file, and whether it is needed."""

    role: str
    kind: str
    help: str
    required: bool = True
    multiple: bool = False


@dataclass(frozen=True)
class InputFile:
    """One input file, as bytes: what the engine reads and what the record hashes."""

    role: str
    name: str
    data: bytes = field(repr=False)
    builtin: bool = False

    @cached_property
    def sha256(self) -> str:
        return sha256_bytes(self.data)


@dataclass(frozen=True)
class Request:
    """What every engine is asked: the person's words, their mood, the engine's parameters and
    its input files by role."""

    prompt: str
    lang: str
    emotion: Emotion
    seed: int
    params: Any
    device: str = "cpu"
    progress: Progress = field(default=no_progress, compare=False, repr=False)
    inputs: Mapping[str, tuple[InputFile, ...]] = field(default_factory=dict)
    stream: Callable[[int, str], None] | None = field(default=None, compare=False, repr=False)
    """Text engines may show text as it is written: ``stream(row, piece)``; bytes never depend on it."""

    def input(self, role: str) -> InputFile | None:
        """The one file of ``role``, or None when none was given."""
        files = self.inputs.get(role, ())
        return files[0] if files else None

    def inputs_of(self, role: str) -> tuple[InputFile, ...]:
        return tuple(self.inputs.get(role, ()))


@dataclass
class OutputFile:
    """One file of an artifact, as bytes; provenance is embedded later by the job."""

    name: str
    data: bytes
    media_type: str


@dataclass
class Artifact:
    """What an engine returns: its files (the main one first) and a JSON-able summary."""

    modality: str
    files: list[OutputFile]
    summary: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


class Engine(ABC):
    """Base class of every engine; subclasses set the class attributes and implement ``run``."""

    name: ClassVar[str]
    modality: ClassVar[str]
    version: ClassVar[str]
    description: ClassVar[str] = ""
    Params: ClassVar[type]
    priority: ClassVar[int] = 0
    """The engine with the highest priority is the default for its modality."""
    inputs: ClassVar[tuple[InputSpec, ...]] = ()
    """The input files it takes; an engine that needs one is never a default for ``create``."""
    uses_mood: ClassVar[bool] = True
    """False when the output does not depend on the mood (its record then carries none)."""

    @abstractmethod
    def run(self, request: Request, generator: torch.Generator) -> Artifact:
        """Make one artifact; all randomness comes from ``generator``."""

    @classmethod
    def check(cls, params: Any) -> None:
        """Cross-field checks beyond each field's range; raise MuseforgeError with one line."""
        return None

    @classmethod
    def check_inputs(cls, params: Any, inputs: Mapping[str, tuple[InputFile, ...]]) -> None:
        """Checks of the input files against the parameters (counts, formats); one line each."""
        return None

    def model_sha256(self, params: Any) -> str | None:
        """The SHA-256 of the weights this engine would load, or None for rule-based engines."""
        return None


@cache
def load_engines() -> dict[str, type[Engine]]:
    """All installed engines by name. A plugin that fails to load is skipped with a warning."""
    found: dict[str, type[Engine]] = {}
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        try:
            cls = ep.load()
        except Exception as exc:  # a broken plugin must not break the studio
            warnings.warn(f"engine plugin {ep.name!r} failed to load: {exc}", stacklevel=2)
            continue
        if not (isinstance(cls, type) and issubclass(cls, Engine)):
            warnings.warn(f"engine plugin {ep.name!r} is not an Engine subclass", stacklevel=2)
            continue
        found[cls.name] = cls
    return found


def get_engine(name: str) -> type[Engine]:
    engines = load_engines()
    if name not in engines:
        known = ", ".join(sorted(engines)) or "none"
        raise MuseforgeError(f"unknown engine {name!r}; installed engines: {known}")
    return engines[name]


def needs_inputs(engine: type[Engine]) -> bool:
    return any(spec.required for spec in engine.inputs)


def default_engine(modality: str) -> type[Engine]:
    """The highest-priority engine of a modality that needs no input file."""
    candidates = [e for e in load_engines().values() if e.modality == modality and not needs_inputs(e)]
    if not candidates:
        raise MuseforgeError(f"no engine is installed for modality {modality!r}")
    return max(candidates, key=lambda e: (e.priority, e.name))


# ---------------------------------------------------------------- parameters


@dataclass(frozen=True)
class ParamInfo:
    """One parameter as front ends show it."""

    name: str
    type: type
    default: Any
    help: str
    range: tuple[float, float] | None = None
    choices: tuple[str, ...] | None = None

    @property
    def type_name(self) -> str:
        return getattr(self.type, "__name__", str(self.type))

    def limits(self) -> str:
        """``16 to 2048`` or ``one of: a, b`` or ``""``."""
        if self.choices:
            return "one of: " + ", ".join(self.choices)
        if self.range:
            lo, hi = self.range
            return f"{_num(lo)} to {_num(hi)}"
        return ""


def _num(x: float) -> str:
    return f"{x:g}" if isinstance(x, float) else str(x)


def _repr(value: Any, limit: int = 60) -> str:
    """``repr(value)``, cut to ``limit`` characters for a one-line message."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 4] + "...'"


def param_fields(params_cls: type) -> list[dataclasses.Field]:
    return [f for f in dataclasses.fields(params_cls) if f.init]


def _field_type(params_cls: type, f: dataclasses.Field) -> Any:
    hints = typing.get_type_hints(params_cls)
    tp = hints[f.name]
    if isinstance(tp, types.UnionType) or typing.get_origin(tp) is typing.Union:
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        tp = args[0] if len(args) == 1 else str
    return tp


def describe(params_cls: type) -> list[ParamInfo]:
    """Every parameter of a Params dataclass: type, default, help, range or choices."""
    rows = []
    for f in param_fields(params_cls):
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()  # type: ignore[misc]
        rows.append(ParamInfo(f.name, _field_type(params_cls, f), default, f.metadata.get("help", ""),
                              f.metadata.get("range"), f.metadata.get("choices")))
    return rows


def coerce_param(params_cls: type, key: str, value: Any) -> Any:
    """Convert a value (often a CLI string) to the declared type of ``params_cls.key``."""
    fields = {f.name: f for f in param_fields(params_cls)}
    if key not in fields:
        known = ", ".join(fields) or "none"
        raise MuseforgeError(f"unknown parameter {key!r}; this engine takes: {known}")
    tp = _field_type(params_cls, fields[key])
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, str) or tp is str:
        return value
    try:
        if tp is bool:
            if value.lower() in ("1", "true", "yes", "on"):
                return True
            if value.lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError(value)
        if tp in (int, float):
            return tp(value)
    except ValueError:
        raise ParamError(key, value, f"is not a valid {tp.__name__}") from None
    return value


def check_value(info: ParamInfo, value: Any) -> None:
    """A ParamError naming the parameter and its range when ``value`` breaks them."""
    if info.type in (int, float):
        if isinstance(value, bool) or not isinstance(value, int | float) or (
                info.type is int and not isinstance(value, int)):
            raise ParamError(info.name, value, f"is not a valid {info.type_name}")
        if isinstance(value, float) and not math.isfinite(value):
            raise ParamError(info.name, value, "is not a finite number")
    elif info.type is bool and not isinstance(value, bool):
        raise ParamError(info.name, value, "must be true or false")
    elif info.type is str and not isinstance(value, str):
        raise ParamError(info.name, value, "must be text")
    elif info.type is str and len(value) > MAX_TEXT_PARAM_CHARS:
        limit = f"has {len(value):,} characters; the limit is {MAX_TEXT_PARAM_CHARS:,}"
        raise ParamError(info.name, value, limit, f"{info.name} {limit}")
    if info.range is not None and isinstance(value, int | float):
        lo, hi = info.range
        if not lo <= value <= hi:
            span = (f"be an integer from {_num(lo)} to {_num(hi)}" if info.type is int
                    else f"lie in {_num(lo)}..{_num(hi)}")
            raise ParamError(info.name, value, f"is out of range: {info.limits()}",
                             f"{info.name} must {span}, got {_num(value)}")
    if info.choices is not None and value not in info.choices:
        raise ParamError(info.name, value, f"is not {info.limits()}",
                         f"unknown {info.name.replace('_', ' ')} {value!r}; choose {info.limits()}")


def make_params(params_cls: type, values: Mapping[str, Any] | None = None) -> Any:
    """Build a Params instance from defaults plus overrides, checking names, types and ranges."""
    derived = {f.name for f in dataclasses.fields(params_cls) if not f.init}
    values = {k: v for k, v in (values or {}).items() if k not in derived}  # recorded, not set
    kwargs = {k: coerce_param(params_cls, k, v) for k, v in values.items()}
    infos = {p.name: p for p in describe(params_cls)}
    for key, value in kwargs.items():
        check_value(infos[key], value)
    try:
        return params_cls(**kwargs)
    except (TypeError, ValueError) as exc:
        raise MuseforgeError(f"invalid parameters for {params_cls.__qualname__}: {exc}") from None


def build_params(engine: type[Engine], values: Mapping[str, Any] | None = None) -> Any:
    """The engine's Params from overrides, checked field by field and then by ``engine.check``."""
    params = make_params(engine.Params, values)
    engine.check(params)
    return params
