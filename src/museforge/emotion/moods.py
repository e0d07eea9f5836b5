"""The fixed set of moods and where each sits on the valence/arousal plane."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from museforge.errors import MuseforgeError

# Prototype (valence, arousal) of each mood, after Russell's circumplex; both axes in [-1, 1].
MOOD_PROTOTYPES: dict[str, tuple[float, float]] = {
    "joyful": (0.8, 0.5),
    "awed": (0.5, 0.7),
    "serene": (0.6, -0.6),
    "nostalgic": (0.0, -0.4),
    "melancholy": (-0.6, -0.5),
    "mysterious": (-0.1, 0.1),
    "tense": (-0.5, 0.7),
    "angry": (-0.8, 0.8),
}
MOODS: tuple[str, ...] = tuple(MOOD_PROTOTYPES)


@dataclass(frozen=True)
class Emotion:
    """A mood label with its valence and arousal in [-1, 1] and a confidence in [0, 1]."""

    label: str
    valence: float
    arousal: float
    confidence: float = 1.0
    source: str = "given"

    def __post_init__(self) -> None:
        if self.label not in MOOD_PROTOTYPES:
            raise MuseforgeError(f"unknown emotion {self.label!r}; choose one of: {', '.join(MOODS)}")
        for name in ("valence", "arousal"):
            if not -1.0 <= getattr(self, name) <= 1.0:
                raise MuseforgeError(f"{name} must lie in [-1, 1], got {getattr(self, name)}")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Emotion:
        return cls(**data)


def emotion_from_label(label: str) -> Emotion:
    """The prototype Emotion of a mood, as chosen by the person (confidence 1).

    >>> emotion_from_label("serene").valence
    0.6
    """
    label = label.strip().lower()
    if label not in MOOD_PROTOTYPES:
        raise MuseforgeError(f"unknown emotion {label!r}; choose one of: {', '.join(MOODS)}")
    valence, arousal = MOOD_PROTOTYPES[label]
    return Emotion(label, valence, arousal, 1.0, "given")


def nearest_mood(valence: float, arousal: float) -> str:
    """The mood whose prototype is closest to a point of the plane.

    >>> nearest_mood(-0.7, 0.9)
    'angry'
    """
    return min(
        MOOD_PROTOTYPES,
        key=lambda m: (MOOD_PROTOTYPES[m][0] - valence) ** 2 + (MOOD_PROTOTYPES[m][1] - arousal) ** 2,
    )
