"""The procedural painting engine: rule-based paintings from a prompt's motifs and mood."""

from museforge.image.procedural.engine import STYLES, ProceduralPainting, ProceduralParams
from museforge.image.procedural.motifs import KEYWORD_MOTIFS, find_motifs

__all__ = ["KEYWORD_MOTIFS", "STYLES", "ProceduralPainting", "ProceduralParams", "find_motifs"]
