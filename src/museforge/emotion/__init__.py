"""Text -> Emotion (valence, arousal, label), and Emotion -> art direction for every engine."""

from museforge.emotion.detect import detect_emotion, detect_language
from museforge.emotion.mapping import ArtDirection, art_direction
from museforge.emotion.moods import (
    MOOD_PROTOTYPES,
    MOODS,
    MOODS_TABLE,
    Emotion,
    MoodSpec,
    emotion_from_label,
    nearest_mood,
)

__all__ = [
    "MOODS",
    "MOODS_TABLE",
    "MOOD_PROTOTYPES",
    "ArtDirection",
    "Emotion",
    "MoodSpec",
    "art_direction",
    "detect_emotion",
    "detect_language",
    "emotion_from_label",
    "nearest_mood",
]
