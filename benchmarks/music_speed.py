"""Music speed: compose 32 bars, harmonise a 16-bar melody, render WAV; median of several runs.

    python benchmarks/music_speed.py [--runs 5] [--json]

Goals, on a 2-core CPU: compose 32 bars in under 1 s (also measured with the originality
guard, as the engine runs it), harmonise 16 bars in under
5 s, render WAV at least 20x faster than real time (the built-in synthesiser, and FluidSynth
when installed). One torch thread. Wall and CPU seconds are both reported: on a shared machine
the CPU time of this process is the fairer figure.
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import statistics
import time
from collections.abc import Callable

import numpy as np
import torch

from museforge.emotion import art_direction, emotion_from_label
from museforge.music.compose import Form, compose
from museforge.music.guard import compose_guarded, shipped_index
from museforge.music.midi import score_to_midi
from museforge.music.render import find_soundfont, render_fluidsynth, synthesise
from museforge.music.score import Note
from museforge.music.theory import Meter

# "Ode to Joy" phrase shape, 16 bars of quarters and halves (not a chorale melody)
TUNE = ("E4 E4 F4 G4 G4 F4 E4 D4 C4 C4 D4 E4 E4:1.5 D4:0.5 D4:2 "
        "E4 E4 F4 G4 G4 F4 E4 D4 C4 C4 D4 E4 D4:1.5 C4:0.5 C4:2 "
        "D4 D4 E4 C4 D4 E4:0.5 F4:0.5 E4 C4 D4 E4:0.5 F4:0.5 E4 D4 C4 D4 G3:2 "
        "E4 E4 F4 G4 G4 F4 E4 D4 C4 C4 D4 E4 D4:1.5 C4:0.5 C4:2")


def median_time(fn: Callable[[], object], runs: int) -> tuple[float, float]:
    """Median wall seconds and median CPU seconds of this process over ``runs`` calls."""
    walls, cpus = [], []
    for _ in range(runs):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    return statistics.median(walls), statistics.median(cpus)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5, help="runs per measurement (median reported)")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    args = ap.parse_args()
    torch.set_num_threads(1)
    direction = art_direction(emotion_from_label("joyful"))
    results: dict[str, object] = {"machine": f"{platform.machine()}, {torch.get_num_threads()} torch thread"}

    compose(direction, np.random.default_rng(0), Form(4))  # warm up
    wall, cpu = median_time(lambda: compose(direction, np.random.default_rng(1), Form(32)), args.runs)
    results["compose_32_bars_s"] = {"wall": round(wall, 4), "cpu": round(cpu, 4), "goal": 1.0}
    index = shipped_index()
    if index is not None:  # as the engine runs it: melody guarded against corpus runs
        attempts: list[int] = []

        def guarded_compose() -> None:
            _, report = compose_guarded(direction, np.random.default_rng(1), Form(32), index)
            attempts.append(report["attempts"])

        wall, cpu = median_time(guarded_compose, args.runs)
        results["compose_32_bars_guarded_s"] = {"wall": round(wall, 4), "cpu": round(cpu, 4),
                                                "attempts": attempts[-1], "goal": 1.0}

    try:
        from museforge.music.harmonize import harmonize, shipped_harmonizer
        from museforge.music.io import parse_note_string

        model, _ = shipped_harmonizer()
        melody = parse_note_string(TUNE).tracks[0].notes
        melody = [Note(n.start, n.duration, n.pitch + 7, n.velocity) for n in melody]  # G major
        bars = max(n.start + n.duration for n in melody) / 4
        harmonize(model, melody[:8], Meter(4, 4))  # warm up
        wall, cpu = median_time(lambda: harmonize(model, melody, Meter(4, 4)), args.runs)
        results["harmonize_16_bars_s"] = {"wall": round(wall, 3), "cpu": round(cpu, 3), "bars": bars,
                                          "goal": 5.0}
    except Exception as exc:  # no shipped model
        results["harmonize_16_bars_s"] = {"error": str(exc)}

    score = compose(direction, np.random.default_rng(2), Form(16))
    audio = score.seconds
    wall, cpu = median_time(lambda: synthesise(score), max(3, args.runs // 2))
    results["render_builtin"] = {"audio_s": round(audio, 2), "wall_s": round(wall, 3),
                                 "x_real_time_wall": round(audio / wall, 1),
                                 "x_real_time_cpu": round(audio / cpu, 1), "goal": 20}
    binary, font = shutil.which("fluidsynth"), find_soundfont()
    if binary and font:
        midi = score_to_midi(score)
        # FluidSynth runs as a child process: only wall time is meaningful here
        wall, _ = median_time(lambda: render_fluidsynth(midi, audio, binary, font), max(3, args.runs // 2))
        results["render_fluidsynth"] = {"audio_s": round(audio, 2), "wall_s": round(wall, 3),
                                        "x_real_time_wall": round(audio / wall, 1), "goal": 20}
    if args.json:
        print(json.dumps(results, indent=1))
        return
    for k, v in results.items():
        print(f"{k:<26} {v}")


if __name__ == "__main__":
    main()
