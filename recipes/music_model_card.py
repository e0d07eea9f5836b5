"""Write the model card (README.md) of a shipped music model from its checkpoint and metrics.

    python recipes/music_model_card.py models/music-harmonizer
    python recipes/music_model_card.py models/music-melody

Reads ``model.safetensors`` (config, data hash, recipe, arguments) and ``metrics.json`` (held-out
figures, training CPU time); the text around them is fixed per model.
"""

from __future__ import annotations

import json
import platform
import sys
from pathlib import Path

from museforge.checkpoints import load_checkpoint, metadata_strings
from museforge.hashing import sha256_file

CARDS = {
    "music-harmonizer": {
        "title": "Chorale harmoniser (alto, tenor and bass given a soprano)",
        "what": "A bidirectional GRU reads the soprano (sixteenth-note grid, position in the bar, "
                "distance to the end); a GRU decoder writes alto, then tenor, then bass at each "
                "step (DeepBach's hold/rest/pitch tokens). `museforge harmonize` decodes with a "
                "beam search that forbids parallel fifths and octaves, voice crossing, spacing "
                "over an octave between upper voices and notes outside each voice's range.",
        "data": "The Bach chorales bundled with music21 (`corpus.chorales.Iterator()`, 371 "
                "files; the 351 in exactly four parts are used). Every tenth chorale in "
                "music21's order is held out for testing, every tenth from the sixth on for "
                "validation. Training crops are transposed by -6..+5 semitones. Licence: Bach's "
                "music is public domain; the encodings ship with music21 by permission of their "
                "encoders (music21's `corpus/license.txt`: \"some encodings ... may not be used "
                "for commercial uses\"). Check those terms before commercial use of this model.",
        "recipe": "python recipes/music_data.py && python recipes/music_harmonizer.py --minutes 16",
    },
    "music-melody": {
        "title": "Folk-melody model (continues a motif in its key and meter)",
        "what": "A two-layer GRU over notes predicts each next note's pitch relative to the "
                "tonic, then its duration, knowing where in the bar it starts and the tune's "
                "meter and mode. `museforge continue` samples from it with a seeded "
                "torch.Generator; the last note is the tonic, held to a bar line. "
                "`corpus_ngrams.npy` holds every interval 8-gram of the training melodies (and "
                "the chorale sopranos) for the originality guard.",
        "data": "Folk and fiddle tunes bundled with music21: Ryan's Mammoth Collection (all), "
                "O'Neill's Music of Ireland 1850 (first 40 tunes of each file) and the Essen "
                "folk song collection (first 60 of each file), read from abc. Tunes with a "
                "changing meter, no key or notes outside the model's range are skipped. Every "
                "tenth tune is held out. Licence: the tunes are traditional; the abc encodings "
                "ship with music21 by permission of their encoders. The Essen collection's "
                "permission (music21's `corpus/essenFolksong/license.txt`) covers "
                "**non-commercial** distribution and use only, and its legal status is stated "
                "as unclear: treat this model (and its n-gram index) as non-commercial. "
                "Retraining without `essenFolksong` (drop it from `FOLK_DIRS`) removes that "
                "restriction.",
        "recipe": "python recipes/music_data.py && python recipes/music_melody.py --steps 3000",
    },
}


def _sections(path: Path, headings: tuple[str, ...]) -> str:
    """The sections under ``headings`` of an existing card (written by other recipes), kept."""
    if not path.is_file():
        return ""
    out, keep = [], False
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            keep = line.strip() in headings
        if keep:
            out.append(line)
    return "\n".join(out) + "\n" if out else ""


def main() -> None:
    folder = Path(sys.argv[1])
    card = CARDS[folder.name]
    weights = folder / "model.safetensors"
    tensors, decoded = load_checkpoint(weights)
    meta = metadata_strings(decoded)
    n_params = sum(t.numel() for t in tensors.values())
    metrics = json.loads((folder / "metrics.json").read_text())
    sha = sha256_file(weights)
    lines = [
        f"# {card['title']}", "",
        card["what"], "",
        "## Files", "",
        f"- `model.safetensors` ({weights.stat().st_size / 1e6:.1f} MB, {n_params:,} parameters, "
        f"sha256 `{sha[:16]}…`): weights; the header holds the config (`{meta['config']}`), "
        f"the training-data hash, the recipe name, its arguments and the metrics.",
    ]
    if (folder / "corpus_ngrams.npy").is_file():
        lines.append("- `corpus_ngrams.npy`: sorted interval 8-gram codes of the training melodies, each "
                     "with the number of melodies holding it.")
    lines += [
        "- `metrics.json`: held-out figures and the training log.", "",
        "## Data and licence", "", card["data"], "",
        f"Training-data manifest hash (SHA-256 over the cached arrays): `{meta['data_sha256']}`.", "",
        "## Recipe", "", "```", card["recipe"], "```", "",
        f"Recipe `{meta['recipe']}`, arguments `{meta['args']}`. Deterministic on CPU: one seeded "
        "torch.Generator draws every batch.", "",
        "## Training time and hardware", "",
        f"{metrics.get('train_cpu_seconds', '?')} CPU seconds on one thread "
        f"({metrics.get('steps')} steps), on a shared 2-core {platform.machine()} machine "
        "(wall time was longer: other jobs shared the cores).", "",
        "## Metrics (held out)", "", "```", json.dumps(metrics["test"], indent=1), "```", "",
    ]
    if folder.name == "music-harmonizer":
        lines += [
            "Negative log-likelihood in nats per alto, tenor or bass token (hold, rest or pitch "
            "on the sixteenth-note grid) given the whole soprano. For scale only: the Music "
            "Transformer paper reports 0.335 (baseline Transformer 0.417) on JSB Chorales, but "
            "that figure is per token of all four voices serialised, unconditioned, on a "
            "different split and tokenisation, so the numbers are not directly comparable.", "",
        ]
    kept = _sections(folder / "README.md", ("## Originality index",))
    (folder / "README.md").write_text("\n".join(lines) + ("\n" + kept if kept else ""))
    print(folder / "README.md")


if __name__ == "__main__":
    main()
