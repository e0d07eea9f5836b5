"""Music: theory helpers, a rule-based composer, MIDI I/O and WAV rendering."""

from museforge.music.compose import Form, compose
from museforge.music.midi import midi_to_score, score_to_midi
from museforge.music.render import render_wav
from museforge.music.score import Note, Score, Track

__all__ = ["Form", "Note", "Score", "Track", "compose", "midi_to_score", "render_wav", "score_to_midi"]
