"""The typed records of a Work: ``work.json`` (format 2; format 1 is still read) and the record
embedded in every file it holds.

Nothing else reads these as dictionaries: every reader goes through ``from_json``, which checks
types and names the first field that is wrong, in one line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from museforge.emotion.moods import MOOD_PROTOTYPES, Emotion
from museforge.errors import MuseforgeError
from museforge.runtime import MAX_SEED

FORMAT = 2
"""The ``work.json`` format written now. Format 1 (no input files) is read as well."""


class RecordError(MuseforgeError):
    """A record that is not what museforge writes: wrong type, missing field, newer format."""


def _take(data: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str,
          default: Any = ..., optional: bool = False) -> Any:
    """``data[key]`` checked against ``kind``; a missing key gives ``default`` when one is set."""
    if key not in data:
        if default is ...:
            raise RecordError(f"{where}: the field {key!r} is missing")
        return default
    value = data[key]
    if value is None and optional:
        return None
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if isinstance(value, bool) and bool not in kinds:
        raise RecordError(f"{where}: the field {key!r} must be {_kind_name(kinds)}, not a boolean")
    if not isinstance(value, kinds):
        raise RecordError(f"{where}: the field {key!r} must be {_kind_name(kinds)}, "
                          f"not {type(value).__name__}")
    return value


def _kind_name(kinds: tuple[type, ...]) -> str:
    names = {str: "text", int: "a whole number", float: "a number", dict: "an object", list: "a list",
             bool: "true or false"}
    return " or ".join(names.get(k, k.__name__) for k in kinds)


def _seed(data: dict[str, Any], where: str) -> int:
    seed = _take(data, "seed", int, where)
    if not 0 <= seed <= MAX_SEED:
        raise RecordError(f"{where}: the field 'seed' is out of range (0 to {MAX_SEED})")
    return seed


def _emotion(value: Any, where: str) -> Emotion | None:
    """An Emotion from its JSON form; None for records of engines that do not use the mood."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise RecordError(f"{where}: the field 'emotion' must be an object")
    if value.get("label") not in MOOD_PROTOTYPES:
        return None  # older style-transfer records wrote {"label": "none"}
    try:
        return Emotion(
            value["label"],
            float(_take(value, "valence", (int, float), f"{where}.emotion")),
            float(_take(value, "arousal", (int, float), f"{where}.emotion")),
            float(_take(value, "confidence", (int, float), f"{where}.emotion", 1.0)),
            str(_take(value, "source", str, f"{where}.emotion", "given")),
        )
    except MuseforgeError as err:
        raise RecordError(f"{where}: {err}") from None


def _emotion_json(emotion: Emotion | None) -> dict[str, Any] | None:
    return emotion.to_dict() if emotion is not None else None


@dataclass(frozen=True)
class InputRecord:
    """One input file of an engine run: its role, the name it was given and its hash."""

    role: str
    name: str
    sha256: str
    bytes: int
    builtin: bool = False
    """A built-in asset (``starry-night``, a shipped fast style) found by name, not by path."""

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"role": self.role, "name": self.name, "sha256": self.sha256,
                                "bytes": self.bytes}
        if self.builtin:
            data["builtin"] = True
        return data

    @classmethod
    def from_json(cls, data: Any, where: str) -> InputRecord:
        if not isinstance(data, dict):
            raise RecordError(f"{where}: each input must be an object")
        return cls(_take(data, "role", str, where), _take(data, "name", str, where),
                   _take(data, "sha256", str, where), _take(data, "bytes", int, where),
                   _take(data, "builtin", bool, where, False))


@dataclass(frozen=True)
class Record:
    """What decides one artifact's bytes, embedded in each of its files; nothing that varies
    between runs (no times), so embedding keeps ``reproduce`` byte-exact."""

    prompt: str
    lang: str
    emotion: Emotion | None
    engine: str
    engine_version: str
    model_sha256: str | None
    params: dict[str, Any]
    seed: int
    libraries: dict[str, str]
    inputs: tuple[InputRecord, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The JSON form; inputs appear as ``inputs`` (role -> SHA-256 list) and ``input_names``
        (role -> names) only when there are any."""
        data: dict[str, Any] = {
            "prompt": self.prompt,
            "lang": self.lang,
            "emotion": _emotion_json(self.emotion),
            "engine": self.engine,
            "engine_version": self.engine_version,
            "model_sha256": self.model_sha256,
            "params": self.params,
            "seed": self.seed,
            "libraries": self.libraries,
        }
        if self.inputs:
            hashes: dict[str, list[str]] = {}
            names: dict[str, list[str]] = {}
            for item in self.inputs:
                hashes.setdefault(item.role, []).append(item.sha256)
                names.setdefault(item.role, []).append(("builtin:" if item.builtin else "") + item.name)
            data["inputs"] = hashes
            data["input_names"] = names
            data["input_bytes"] = {r: [i.bytes for i in self.inputs if i.role == r] for r in hashes}
        return data

    @classmethod
    def from_json(cls, data: Any, where: str = "record") -> Record:
        if not isinstance(data, dict):
            raise RecordError(f"{where} is not an object")
        inputs: list[InputRecord] = []
        raw_inputs = _take(data, "inputs", dict, where, {})
        raw_names = _take(data, "input_names", dict, where, {})
        raw_sizes = _take(data, "input_bytes", dict, where, {})
        for role, hashes in raw_inputs.items():
            if isinstance(hashes, str):  # older records: one hash per single input
                hashes = [hashes]
            if not isinstance(hashes, list):
                raise RecordError(f"{where}: the inputs of role {role!r} are malformed")
            names = raw_names.get(role) or [""] * len(hashes)
            sizes = raw_sizes.get(role) or [0] * len(hashes)
            if not (isinstance(hashes, list) and isinstance(names, list) and isinstance(sizes, list)
                    and len(hashes) == len(names) == len(sizes)):
                raise RecordError(f"{where}: the inputs of role {role!r} are malformed")
            for digest, name, size in zip(hashes, names, sizes, strict=True):
                if not (isinstance(digest, str) and isinstance(name, str) and isinstance(size, int)):
                    raise RecordError(f"{where}: the inputs of role {role!r} are malformed")
                builtin = name.startswith("builtin:")
                inputs.append(InputRecord(role, name.removeprefix("builtin:"), digest, size, builtin))
        return cls(
            prompt=_take(data, "prompt", str, where),
            lang=_take(data, "lang", str, where),
            emotion=_emotion(data.get("emotion"), where),
            engine=_take(data, "engine", str, where),
            engine_version=str(_take(data, "engine_version", (str, int), where)),
            model_sha256=_take(data, "model_sha256", str, where, None, optional=True),
            params=_take(data, "params", dict, where),
            seed=_seed(data, where),
            libraries=_take(data, "libraries", dict, where, {}),
            inputs=tuple(inputs),
        )


def plain_name(name: str, where: str) -> str:
    """``name`` when it is a plain file name inside a Work (no folders, no ``..``), else an error.

    >>> plain_name("../etc/passwd", "work.json")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    museforge.record.RecordError: work.json: '../etc/passwd' is not a plain file name inside the Work
    """
    bad = (not name or name in (".", "..") or "/" in name or "\\" in name or "\0" in name
           or any(ord(c) < 32 for c in name) or len(name) > 255)
    if bad:
        raise RecordError(f"{where}: {name!r} is not a plain file name inside the Work")
    return name


@dataclass(frozen=True)
class FileRecord:
    """One file of a Work as written: name, media type, SHA-256 and size of the final bytes."""

    name: str
    media_type: str
    sha256: str
    bytes: int

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "media_type": self.media_type, "sha256": self.sha256,
                "bytes": self.bytes}

    @classmethod
    def from_json(cls, data: Any, where: str) -> FileRecord:
        if not isinstance(data, dict):
            raise RecordError(f"{where}: each file must be an object")
        return cls(plain_name(_take(data, "name", str, where), where),
                   _take(data, "media_type", str, where, ""), _take(data, "sha256", str, where),
                   _take(data, "bytes", int, where, 0))


@dataclass
class ArtifactRecord:
    """One engine run of a Work: what ran, on what, with which seed, and the files it made."""

    modality: str
    engine: str
    engine_version: str
    model_sha256: str | None
    params: dict[str, Any]
    seed: int
    files: list[FileRecord]
    inputs: tuple[InputRecord, ...] = ()
    summary: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0
    uses_mood: bool = True
    """False for engines whose output does not depend on the mood (style transfer, harmonising)."""

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "modality": self.modality,
            "engine": self.engine,
            "engine_version": self.engine_version,
            "model_sha256": self.model_sha256,
            "params": self.params,
            "seed": self.seed,
            "inputs": [i.to_json() for i in self.inputs],
            "files": [f.to_json() for f in self.files],
            "summary": self.summary,
            "warnings": self.warnings,
            "seconds": self.seconds,
        }
        if not self.uses_mood:
            data["uses_mood"] = False
        return data

    @classmethod
    def from_json(cls, data: Any, where: str) -> ArtifactRecord:
        if not isinstance(data, dict):
            raise RecordError(f"{where} is not an object")
        files = _take(data, "files", list, where)
        inputs = _take(data, "inputs", list, where, [])
        warnings = _take(data, "warnings", list, where, [])
        return cls(
            modality=_take(data, "modality", str, where),
            engine=_take(data, "engine", str, where),
            engine_version=str(_take(data, "engine_version", (str, int), where)),
            model_sha256=_take(data, "model_sha256", str, where, None, optional=True),
            params=_take(data, "params", dict, where),
            seed=_seed(data, where),
            files=[FileRecord.from_json(f, f"{where}.files[{i}]") for i, f in enumerate(files)],
            inputs=tuple(InputRecord.from_json(x, f"{where}.inputs[{i}]") for i, x in enumerate(inputs)),
            summary=_take(data, "summary", dict, where, {}),
            warnings=[str(w) for w in warnings],
            seconds=float(_take(data, "seconds", (int, float), where, 0.0)),
            uses_mood=_take(data, "uses_mood", bool, where, True),
        )


@dataclass(frozen=True)
class Signature:
    """An Ed25519 signature and the public key that checks it (both base64)."""

    algorithm: str
    public_key: str
    value: str

    def to_json(self) -> dict[str, str]:
        return {"algorithm": self.algorithm, "public_key": self.public_key, "value": self.value}

    @classmethod
    def from_json(cls, data: Any, where: str) -> Signature | None:
        if not isinstance(data, dict):
            return None
        return cls(_take(data, "algorithm", str, where), _take(data, "public_key", str, where),
                   _take(data, "value", str, where))


@dataclass
class WorkRecord:
    """``work.json``: the prompt, the mood, every engine run and its files, and a signature
    over all of it."""

    museforge: str
    created: str
    prompt: str
    lang: str
    seed: int
    emotion: Emotion | None
    device: str
    libraries: dict[str, str]
    artifacts: list[ArtifactRecord]
    seconds: float = 0.0
    originality: Any = None
    evaluation: Any = None
    signature: Signature | None = None
    format: int = FORMAT
    signer: str = ""
    """The name the signing key's owner gave it (covered by the signature)."""
    report: FileRecord | None = None
    """``report.html``, hashed like every other file."""

    def unsigned_json(self) -> dict[str, Any]:
        """Everything the signature covers (the JSON form without ``signature``)."""
        return {
            "format": self.format,
            "museforge": self.museforge,
            "created": self.created,
            "prompt": self.prompt,
            "lang": self.lang,
            "seed": self.seed,
            "emotion": _emotion_json(self.emotion),
            "device": self.device,
            "libraries": self.libraries,
            "artifacts": [a.to_json() for a in self.artifacts],
            "originality": self.originality,
            "evaluation": self.evaluation,
            "seconds": self.seconds,
            **({"signer": self.signer} if self.signer else {}),
            **({"report": self.report.to_json()} if self.report else {}),
        }

    def files(self) -> list[FileRecord]:
        """Every file of the Work but ``work.json``: the artifacts' files and the report."""
        return [f for a in self.artifacts for f in a.files] + ([self.report] if self.report else [])

    def to_json(self) -> dict[str, Any]:
        data = self.unsigned_json()
        if self.signature is not None:
            data["signature"] = self.signature.to_json()
        return data

    def record_of(self, artifact: ArtifactRecord) -> Record:
        """The record embedded in the files of ``artifact``."""
        return Record(
            prompt=self.prompt,
            lang=self.lang,
            emotion=self.emotion if artifact.uses_mood else None,
            engine=artifact.engine,
            engine_version=artifact.engine_version,
            model_sha256=artifact.model_sha256,
            params=artifact.params,
            seed=artifact.seed,
            libraries=self.libraries,
            inputs=artifact.inputs,
        )

    @classmethod
    def from_json(cls, data: Any, where: str = "work.json") -> WorkRecord:
        """A WorkRecord from JSON of format 1 or 2, with a one-line error naming what is wrong."""
        if not isinstance(data, dict):
            raise RecordError(f"{where} is not a museforge work manifest (not an object)")
        version = _take(data, "format", int, where, 1)
        if version > FORMAT:
            raise RecordError(f"{where} was written by a newer museforge (format {version}); upgrade "
                              "to read it")
        if version < 1:
            raise RecordError(f"{where} has an unknown format {version}")
        artifacts = _take(data, "artifacts", list, where)
        seconds = _take(data, "seconds", (int, float), where, 0.0)
        return cls(
            museforge=_take(data, "museforge", str, where, "?"),
            created=_take(data, "created", str, where, ""),
            prompt=_take(data, "prompt", str, where),
            lang=_take(data, "lang", str, where, "en"),
            seed=_seed(data, where),
            emotion=_emotion(data.get("emotion"), where),
            device=_take(data, "device", str, where, "cpu"),
            libraries=_take(data, "libraries", dict, where, {}),
            artifacts=[ArtifactRecord.from_json(a, f"{where}: artifacts[{i}]")
                       for i, a in enumerate(artifacts)],
            seconds=float(seconds),
            originality=data.get("originality"),
            evaluation=data.get("evaluation"),
            signature=Signature.from_json(data.get("signature"), f"{where}: signature"),
            format=version,
            signer=_take(data, "signer", str, where, ""),
            report=FileRecord.from_json(data["report"], f"{where}: report") if data.get("report") else None,
        )._checked(where)

    def _checked(self, where: str) -> WorkRecord:
        names = [f.name for f in self.files()]
        repeated = sorted({n for n in names if names.count(n) > 1} | ({"work.json"} & set(names)))
        if repeated:
            raise RecordError(f"{where}: the file {repeated[0]!r} is listed twice")
        return self
