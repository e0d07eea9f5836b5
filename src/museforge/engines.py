"""The engine registry: every generator, built in or third-party, is found through entry points.

An engine is a class with a ``name``, a ``modality``, a ``version``, a ``Params`` dataclass and one
entry point ``run(request, generator) -> Artifact``. Built-in engines are declared in
``pyproject.toml`` under ``[project.entry-points."museforge.engines"]``, exactly as a plugin would.
"""

from __future__ import annotations

import dataclasses
import importlib.metadata
import types
import typing
import warnings
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from functools import cache
from typing import Any, ClassVar

import torch

from museforge.emotion import Emotion
from museforge.errors import MuseforgeError
from museforge.runtime import Progress, no_progress

ENTRY_POINT_GROUP = "museforge.engines"
MODALITIES = ("text", "image", "music")


@dataclass(frozen=True)
class Request:
    """What every engine is asked: the person's words, their mood, and the engine's parameters."""

    prompt: str
    lang: str
    emotion: Emotion
    seed: int
    params: Any
    device: str = "cpu"
    progress: Progress = field(default=no_progress, compare=False, repr=False)


@dataclass
class OutputFile:
    """One file of an artifact, as bytes; provenance is embedded later by the Work."""

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

    @abstractmethod
    def run(self, request: Request, generator: torch.Generator) -> Artifact:
        """Make one artifact; all randomness comes from ``generator``."""

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


def default_engine(modality: str) -> type[Engine]:
    """The highest-priority engine of a modality."""
    candidates = [e for e in load_engines().values() if e.modality == modality]
    if not candidates:
        raise MuseforgeError(f"no engine is installed for modality {modality!r}")
    return max(candidates, key=lambda e: (e.priority, e.name))


def param_fields(params_cls: type) -> list[dataclasses.Field]:
    return list(dataclasses.fields(params_cls))


def _field_type(params_cls: type, f: dataclasses.Field) -> Any:
    hints = typing.get_type_hints(params_cls)
    tp = hints[f.name]
    if isinstance(tp, types.UnionType) or typing.get_origin(tp) is typing.Union:
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        tp = args[0] if len(args) == 1 else str
    return tp


def coerce_param(params_cls: type, key: str, value: Any) -> Any:
    """Convert a value (often a CLI string) to the declared type of ``params_cls.key``."""
    fields = {f.name: f for f in dataclasses.fields(params_cls)}
    if key not in fields:
        known = ", ".join(fields) or "none"
        raise MuseforgeError(f"unknown parameter {key!r}; this engine takes: {known}")
    tp = _field_type(params_cls, fields[key])
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
        raise MuseforgeError(f"parameter {key}={value!r} is not a valid {tp.__name__}") from None
    return value


def make_params(params_cls: type, values: dict[str, Any] | None = None) -> Any:
    """Build a Params instance from defaults plus overrides, checking names and types."""
    values = values or {}
    kwargs = {k: coerce_param(params_cls, k, v) for k, v in values.items()}
    try:
        return params_cls(**kwargs)
    except (TypeError, ValueError) as exc:
        raise MuseforgeError(f"invalid parameters for {params_cls.__qualname__}: {exc}") from None


def describe_params(params_cls: type) -> list[tuple[str, str, Any, str]]:
    """``(name, type, default, help)`` for each parameter, for ``museforge engines``."""
    rows = []
    for f in dataclasses.fields(params_cls):
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()  # type: ignore[misc]
        tp = _field_type(params_cls, f)
        rows.append((f.name, getattr(tp, "__name__", str(tp)), default, f.metadata.get("help", "")))
    return rows
