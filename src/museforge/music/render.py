"""Scores to sound and pictures: WAV through FluidSynth when present, else a numpy synthesiser;
and a piano-roll PNG.

FluidSynth (``fluidsynth -ni -F out.wav``) renders faster than real time and gives the same
bytes on every run with the same binary and soundfont (its dither noise comes from a fixed
table, and reverb and chorus are deterministic), so it needs no special options. Without it, the
built-in synthesiser (additive partials with ADSR envelopes per instrument family, noise drums
from fixed seeds, a convolution room) writes 16-bit stereo at 44.1 kHz with the stdlib ``wave``
module, normalised to -1 dBFS.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import subprocess
import tempfile
import wave
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from museforge.errors import MuseforgeError
from museforge.hashing import sha256_file
from museforge.music.score import DRUM_CHANNEL, Score, TempoMap, Track, seconds_at

SAMPLE_RATE = 44100
SOUNDFONT_PATHS = (
    "/usr/share/sounds/sf2/FluidR3_GM.sf2",
    "/usr/share/sounds/sf2/default-GM.sf2",
    "/usr/share/sounds/sf2/TimGM6mb.sf2",
    "/usr/share/soundfonts/FluidR3_GM.sf2",
    "/usr/share/soundfonts/default.sf2",
)
FALLBACK_WARNING = ("FluidSynth not found: rendered with the built-in synthesiser; install "
                    "fluidsynth and fluid-soundfont-gm for richer sound")
RENDERERS = ("auto", "fluidsynth", "builtin")
FLUIDSYNTH_GAIN = 0.6
TAIL_SECONDS = 1.5


def find_soundfont() -> Path | None:
    """``$MUSEFORGE_SOUNDFONT`` if set and present, else the first General MIDI font found."""
    env = os.environ.get("MUSEFORGE_SOUNDFONT")
    candidates = ([env] if env else []) + list(SOUNDFONT_PATHS)
    for c in candidates:
        if c and Path(c).is_file():
            return Path(c)
    return None


@cache
def fluidsynth_version(binary: str) -> str:
    out = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=30).stdout
    for line in out.splitlines():
        if "runtime version" in line:
            return line.rsplit(" ", 1)[-1]
    return "unknown"


def render_fluidsynth(midi: bytes, seconds: float, binary: str, soundfont: Path,
                      gain: float = FLUIDSYNTH_GAIN) -> bytes:
    """WAV bytes from FluidSynth's fast file renderer, trimmed and normalised like ours.

    FluidSynth plays the MIDI file's own ``set_tempo`` events, so tempo changes are heard as
    written; ``seconds`` (the piece's length through its tempo map) only sets where the tail is
    cut.

    FluidSynth writes raw little-endian float samples: its float WAV output carries a PEAK
    chunk with a timestamp, which would make the bytes differ from run to run.
    """
    with tempfile.TemporaryDirectory(prefix="museforge-") as tmp:
        mid_path, raw_path = Path(tmp, "music.mid"), Path(tmp, "music.raw")
        mid_path.write_bytes(midi)
        cmd = [binary, "-ni", "-g", str(gain), "-F", str(raw_path), "-T", "raw", "-O", "float",
               "-E", "little", "-r", str(SAMPLE_RATE), str(soundfont), str(mid_path)]
        log_path = Path(tmp, "fluidsynth.log")
        with log_path.open("wb") as log:
            proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
            try:  # some files (hundreds of one-tick notes) make it render silence forever: stop it
                limit = 2 * 8 * int((seconds + TAIL_SECONDS) * SAMPLE_RATE) + (1 << 20)
                while proc.poll() is None:
                    with contextlib.suppress(subprocess.TimeoutExpired):
                        proc.wait(timeout=0.05)
                    if proc.poll() is None and raw_path.is_file() and raw_path.stat().st_size > limit:
                        raise RuntimeError("fluidsynth did not stop at the end of the piece")
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
        if proc.returncode != 0 or not raw_path.is_file():
            tail = log_path.read_text(errors="replace").strip().splitlines()[-1:] or ["no output"]
            raise RuntimeError(f"fluidsynth failed ({proc.returncode}): {tail[0]}")
        samples = np.fromfile(raw_path, dtype="<f4").astype(np.float64)
    mix = samples[: samples.size // 2 * 2].reshape(-1, 2).T
    length = min(mix.shape[1], int((seconds + TAIL_SECONDS) * SAMPLE_RATE))
    return write_wav(mix[:, :length])


def render_wav(score: Score, midi: bytes, renderer: str = "auto") -> tuple[bytes, dict[str, Any], str | None]:
    """``(wav_bytes, renderer_info, warning)``; ``renderer`` is ``auto``, ``fluidsynth`` or ``builtin``."""
    if renderer not in RENDERERS:
        raise MuseforgeError(f"unknown renderer {renderer!r}; choose one of: {', '.join(RENDERERS)}")
    warning = None
    if renderer != "builtin":
        binary, font = shutil.which("fluidsynth"), find_soundfont()
        if binary and font:
            try:
                data = render_fluidsynth(midi, score.seconds, binary, font)
                info = {"renderer": "fluidsynth", "version": fluidsynth_version(binary),
                        "soundfont": str(font), "soundfont_sha256": sha256_file(font),
                        "gain": FLUIDSYNTH_GAIN, "sample_rate": SAMPLE_RATE}
                return data, info, None
            except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
                if renderer == "fluidsynth":
                    raise MuseforgeError(f"{exc}; try renderer=builtin") from None
                warning = f"{exc}: rendered with the built-in synthesiser instead"
        elif renderer == "fluidsynth":
            missing = "the fluidsynth program" if not binary else "a General MIDI soundfont"
            raise MuseforgeError(f"renderer=fluidsynth needs {missing}; install fluidsynth and "
                                 f"fluid-soundfont-gm, set MUSEFORGE_SOUNDFONT, or use renderer=builtin")
        else:
            warning = FALLBACK_WARNING
    data = synthesise(score)
    return data, {"renderer": "builtin", "sample_rate": SAMPLE_RATE}, warning


# --- the built-in synthesiser --------------------------------------------------------------


@dataclass(frozen=True)
class Timbre:
    partials: tuple[float, ...]  # amplitude of harmonics 1, 2, 3, ...
    attack: float                # seconds
    decay: float                 # seconds for the sustained level to fall by e (0: held)
    release: float               # seconds after the note ends
    brightness_decay: float = 1.0  # higher partials decay this many times faster (plucked)
    vibrato: float = 0.0         # depth in semitones
    gain: float = 1.0
    pan: float = 0.0             # -1 left .. 1 right


TIMBRES = {
    "piano": Timbre((1.0, 0.45, 0.25, 0.12, 0.08, 0.04), 0.005, 1.6, 0.25, 2.0, gain=0.9, pan=-0.1),
    "bell": Timbre((1.0, 0.0, 0.35, 0.0, 0.2, 0.0, 0.1), 0.003, 1.8, 0.6, 1.5, gain=0.8, pan=0.15),
    "pluck": Timbre((1.0, 0.6, 0.35, 0.25, 0.12, 0.08), 0.004, 0.9, 0.2, 2.5, gain=0.8, pan=0.25),
    "bass": Timbre((1.0, 0.5, 0.2, 0.08), 0.01, 2.5, 0.12, 1.5, gain=1.1, pan=0.0),
    "strings": Timbre((1.0, 0.5, 0.33, 0.25, 0.2, 0.14, 0.1, 0.07), 0.12, 0.0, 0.35, vibrato=0.08,
                      gain=0.45, pan=0.3),
    "pad": Timbre((1.0, 0.3, 0.15, 0.08), 0.25, 0.0, 0.6, vibrato=0.05, gain=0.45, pan=0.2),
    "brass": Timbre((1.0, 0.8, 0.6, 0.45, 0.3, 0.2, 0.12), 0.04, 0.0, 0.12, vibrato=0.05,
                    gain=0.5, pan=0.2),
    "reed": Timbre((1.0, 0.1, 0.5, 0.08, 0.3, 0.05, 0.15), 0.03, 0.0, 0.1, vibrato=0.08, gain=0.6,
                   pan=-0.15),
    "flute": Timbre((1.0, 0.25, 0.08, 0.03), 0.05, 0.0, 0.12, vibrato=0.12, gain=0.75, pan=-0.15),
    "lead": Timbre((1.0, 0.7, 0.5, 0.4, 0.3, 0.25, 0.2, 0.15, 0.1), 0.01, 0.0, 0.1, vibrato=0.1,
                   gain=0.45, pan=-0.1),
}


def timbre_for(program: int) -> Timbre:
    """The built-in timbre for a General MIDI program (0-based).

    >>> timbre_for(0) is TIMBRES["piano"], timbre_for(73) is TIMBRES["flute"]
    (True, True)
    """
    if program == 46 or 24 <= program <= 28 or program == 45:
        return TIMBRES["pluck"]
    families = ["piano", "bell", "reed", "pluck", "bass", "strings", "strings", "brass", "reed",
                "flute", "lead", "pad", "pad", "pluck", "bell", "bell"]
    name = families[program // 8]
    if 29 <= program <= 31:
        name = "lead"
    return TIMBRES[name]


def _note_wave(pitch: int, seconds: float, timbre: Timbre, amp: float) -> np.ndarray:
    freq = 440.0 * 2 ** ((pitch - 69) / 12)
    total = seconds + timbre.release
    if timbre.decay:  # stop once a decaying note has died away (-80 dB)
        total = min(total, 9.2 * timbre.decay)
    n = int(total * SAMPLE_RATE)
    t = np.arange(n) / SAMPLE_RATE
    phase = 2 * np.pi * freq * t
    if timbre.vibrato:
        rate = 5.2
        depth = freq * (2 ** (timbre.vibrato / 12) - 1)
        onset = np.clip((t - 0.25) / 0.4, 0.0, 1.0)  # vibrato grows after the attack
        phase = phase + (depth / rate) * onset * np.sin(2 * np.pi * rate * t)
    # partials by the recurrence sin((k+1)x) = 2 cos(x) sin(kx) - sin((k-1)x)
    sin_prev, sin_k = np.zeros(n), np.sin(phase)
    two_cos = 2 * np.cos(phase)
    out = np.zeros(n)
    env_k = np.exp(-t / timbre.decay) if timbre.decay else None
    ratio = (np.exp(-t * (timbre.brightness_decay - 1) / (2 * timbre.decay))
             if timbre.decay and timbre.brightness_decay != 1 else None)
    for k, a in enumerate(timbre.partials, start=1):
        if k * freq >= SAMPLE_RATE / 2.2:
            break
        if a:
            out += a * (sin_k * env_k if env_k is not None else sin_k)
        sin_prev, sin_k = sin_k, two_cos * sin_k - sin_prev
        if env_k is not None and ratio is not None:
            env_k = env_k * ratio
    env = np.minimum(t / timbre.attack, 1.0)
    held = int(seconds * SAMPLE_RATE)
    if n > held:
        env[held:] *= np.exp(-(t[held:] - seconds) / (timbre.release / 4))
    return out * env * amp / sum(timbre.partials)


@cache
def _drum_sample(pitch: int) -> np.ndarray:
    rng = np.random.default_rng(pitch)  # fixed seeds: every render identical
    if pitch == 36:  # kick: falling sine
        t = np.arange(int(0.35 * SAMPLE_RATE)) / SAMPLE_RATE
        freq = 45 + 75 * np.exp(-t / 0.04)
        return np.sin(2 * np.pi * np.cumsum(freq) / SAMPLE_RATE) * np.exp(-t / 0.12) * 1.2
    if pitch in (37, 38):  # side stick / snare: tone plus noise
        t = np.arange(int(0.25 * SAMPLE_RATE)) / SAMPLE_RATE
        noise = rng.standard_normal(t.size) * (0.25 if pitch == 37 else 0.5)
        tone = np.sin(2 * np.pi * (330 if pitch == 37 else 190) * t)
        return (noise * np.exp(-t / (0.03 if pitch == 37 else 0.07)) + tone * np.exp(-t / 0.03)) * 0.6
    seconds, tau = (0.12, 0.025) if pitch == 42 else (1.4, 0.45)
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    noise = np.diff(rng.standard_normal(t.size + 1))  # crude high-pass
    return noise * np.exp(-t / tau) * (0.18 if pitch == 42 else 0.22)


def _feedback(x: np.ndarray, delay: int, gain: float, allpass: bool = False) -> np.ndarray:
    """Comb (or all-pass) filter with a ``delay``-sample loop, computed a loop length at a time."""
    y = np.zeros_like(x)
    prev = np.zeros(delay)
    xprev = np.zeros(delay)
    for i in range(0, x.size, delay):
        xi = x[i : i + delay]
        m = xi.size
        if allpass:
            yi = -gain * xi + xprev[:m] + gain * prev[:m]
            xprev = xi
        else:
            yi = xi + gain * prev[:m]
        y[i : i + m] = yi
        prev = yi
    return y


def room(mix: np.ndarray, amount: float) -> np.ndarray:
    """A small Schroeder reverb (four combs, two all-passes per channel), deterministic."""
    out = np.empty_like(mix)
    for ch in range(mix.shape[0]):
        spread = 23 * ch
        x = np.convolve(mix[ch], [0.25, 0.5, 0.25], mode="same")  # darken the tail
        wet = sum(_feedback(x, d + spread, 0.8) for d in (1116, 1188, 1277, 1356)) / 4
        for d in (556, 441):
            wet = _feedback(wet, d + spread, 0.5, allpass=True)
        out[ch] = mix[ch] + amount * wet
    return out


def _track_audio(track: Track, tempo_map: TempoMap, length: int) -> tuple[np.ndarray, float]:
    """One track's mono signal and pan; note times in seconds follow the tempo map."""
    buf = np.zeros(length)
    if not track.notes:
        return buf, 0.0
    on = seconds_at(tempo_map, np.array([n.start for n in track.notes]))
    off = seconds_at(tempo_map, np.array([n.start + n.duration for n in track.notes]))
    if track.channel == DRUM_CHANNEL:
        for n, t in zip(track.notes, on.tolist(), strict=True):
            sample = _drum_sample(n.pitch if n.pitch in (36, 37, 38, 42) else 49)
            i = round(t * SAMPLE_RATE)
            j = min(length, i + sample.size)
            buf[i:j] += sample[: j - i] * (n.velocity / 127) ** 1.5
        return buf * 0.6, 0.0
    timbre = timbre_for(track.program)
    for n, t0, t1 in zip(track.notes, on.tolist(), off.tolist(), strict=True):
        w = _note_wave(n.pitch, t1 - t0, timbre, (n.velocity / 127) ** 1.6)
        i = round(t0 * SAMPLE_RATE)
        j = min(length, i + w.size)
        buf[i:j] += w[: j - i]
    return buf * timbre.gain, timbre.pan


def synthesise(score: Score, reverb: float = 0.25) -> bytes:
    """Render a Score with the built-in synthesiser to 16-bit stereo WAV bytes: the piece (its
    tempo changes followed) plus a tail of ``TAIL_SECONDS``."""
    length = int((score.seconds + TAIL_SECONDS) * SAMPLE_RATE)
    mix = np.zeros((2, length))
    for track in score.tracks:
        mono, pan = _track_audio(track, score.tempo_map, length)
        angle = (pan + 1) * np.pi / 4
        mix[0] += mono * np.cos(angle)
        mix[1] += mono * np.sin(angle)
    if reverb:
        mix = room(mix, reverb)
    return write_wav(mix)


def write_wav(mix: np.ndarray) -> bytes:
    """16-bit stereo WAV bytes of a ``(2, n)`` float signal, faded out and normalised to -1 dBFS."""
    mix = np.array(mix, dtype=np.float64)
    length = mix.shape[1]
    fade = min(length, int(0.05 * SAMPLE_RATE))
    mix[:, length - fade :] *= np.linspace(1.0, 0.0, fade)
    peak = float(np.abs(mix).max()) if length else 0.0
    if peak > 0:
        mix *= 0.89 / peak  # -1 dBFS
    pcm = np.round(mix.T * 32767).astype("<i2")
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(SAMPLE_RATE)
        w.writeframes(pcm.tobytes())
    return buf.getvalue()


# --- piano roll ----------------------------------------------------------------------------

TRACK_COLOURS = ((236, 112, 99), (93, 173, 226), (88, 214, 141), (245, 176, 65), (175, 122, 197))


def pianoroll_png(score: Score, width: int = 1200, height: int = 360) -> bytes:
    """A piano-roll picture of the pitched tracks, with bar lines, as PNG bytes."""
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (width, height), (24, 26, 33))
    draw = ImageDraw.Draw(img)
    pitched = [t for t in score.tracks if t.channel != DRUM_CHANNEL]
    pitches = [n.pitch for t in pitched for n in t.notes] or [60]
    lo, hi = min(pitches) - 2, max(pitches) + 2
    xs = (width - 1) / max(score.quarters, 1e-9)
    ys = (height - 1) / (hi - lo + 1)
    for b in range(score.bars + 1):
        x = round(b * score.meter.bar_quarters * xs)
        draw.line([(x, 0), (x, height)], fill=(60, 63, 75) if b % 4 else (95, 99, 115))
    for i, track in reversed(list(enumerate(pitched))):  # melody drawn last, on top
        colour = TRACK_COLOURS[i % len(TRACK_COLOURS)]
        for n in track.notes:
            x0, x1 = round(n.start * xs), round((n.start + n.duration) * xs)
            y0 = round((hi - n.pitch) * ys)
            draw.rectangle([x0, y0, max(x0 + 1, x1 - 1), y0 + max(1, round(ys) - 1)], fill=colour)
    buf = io.BytesIO()
    img.save(buf, format="PNG", optimize=False)
    return buf.getvalue()
