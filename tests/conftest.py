"""Shared fixtures: an isolated museforge home, and tiny fake engines for spine tests."""

from __future__ import annotations

import io
import wave
from dataclasses import dataclass

import mido
import numpy as np
import pytest
import torch
from PIL import Image

from museforge import engines
from museforge.engines import Artifact, Engine, OutputFile, Request, param
from museforge.runtime import numpy_rng


@pytest.fixture(autouse=True, scope="session")
def museforge_home(tmp_path_factory):
    """Keep signing keys out of the real home folder; one key for the session, as a person has
    one, so files made in different tests compare byte for byte (seals included)."""
    home = tmp_path_factory.mktemp("home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MUSEFORGE_HOME", str(home))
        yield home


@pytest.fixture(scope="session")
def tiny_diffusion_path(tmp_path_factory):
    """A diffusion model of random weights (16 px UNet, x2 upscaler), saved as museforge saves one;
    shared by the pipeline, command-line and training tests."""
    from museforge.image.diffusion.model import DiffusionModel
    from museforge.image.diffusion.text import TextEncoder, TextEncoderConfig, Tokenizer, vocabulary_texts
    from museforge.image.diffusion.unet import UNet, UNetConfig
    from museforge.image.diffusion.upscale import Upscaler, UpscalerConfig

    torch.manual_seed(0)
    unet = UNetConfig(
        sample_size=16,
        block_out_channels=(16, 32),
        attention=(False, True),
        layers_per_block=1,
        cross_attention_dim=32,
        attention_head_dim=8,
        norm_num_groups=8,
    )
    tokenizer = Tokenizer.build(vocabulary_texts())
    model = DiffusionModel(
        UNet(unet),
        TextEncoder(TextEncoderConfig(len(tokenizer.vocab), 32, 1, 2)),
        tokenizer,
        upscaler=Upscaler(UpscalerConfig(factor=2, width=8, blocks=1)),
        name="tiny",
    )
    with torch.no_grad():  # the upscaler's last layer starts at zero: give it something to do
        model.upscaler.tail.weight.normal_(0, 0.05)
    path = tmp_path_factory.mktemp("model") / "tiny" / "model.safetensors"
    model.save(path, data_sha256="0" * 64, recipe="test")
    return path


@dataclass(frozen=True)
class FakeParams:
    size: int = param(8, "edge in pixels", range=(1, 64))
    fail: bool = param(False, "raise mid-run")


RUNS: list[str] = []
"""Names of the fake engines run, in order (tests clear it)."""


class FakeText(Engine):
    name, modality, version, Params, priority = "fake-text", "text", "1", FakeParams, 100

    def run(self, request: Request, generator: torch.Generator) -> Artifact:
        RUNS.append(self.name)
        word = int(torch.randint(0, 1000, (1,), generator=generator))
        text = f"{request.prompt} {word}"
        return Artifact("text", [OutputFile("poem.txt", text.encode(), "text/plain")], {"text": text})


class FakeImage(Engine):
    name, modality, version, Params, priority = "fake-image", "image", "1", FakeParams, 100

    def run(self, request: Request, generator: torch.Generator) -> Artifact:
        if request.params.fail:
            raise RuntimeError("boom")
        pixels = numpy_rng(generator).integers(0, 256, (request.params.size, request.params.size, 3))
        buf = io.BytesIO()
        Image.fromarray(pixels.astype(np.uint8)).save(buf, "PNG")
        return Artifact(
            "image", [OutputFile("painting.png", buf.getvalue(), "image/png")], {"style": "noise"}
        )


class FakeMusic(Engine):
    name, modality, version, Params, priority = "fake-music", "music", "1", FakeParams, 100

    def run(self, request: Request, generator: torch.Generator) -> Artifact:
        rng = numpy_rng(generator)
        midi = mido.MidiFile(type=1)
        track = mido.MidiTrack([mido.MetaMessage("track_name", name="melody")])
        for pitch in rng.integers(60, 72, 4):
            track += [
                mido.Message("note_on", note=int(pitch), velocity=80, time=0),
                mido.Message("note_off", note=int(pitch), velocity=0, time=480),
            ]
        midi.tracks.append(track)
        mid = io.BytesIO()
        midi.save(file=mid)
        wav = io.BytesIO()
        with wave.open(wav, "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(8000)
            w.writeframes((rng.standard_normal(800) * 1000).astype("<i2").tobytes())
        files = [
            OutputFile("music.mid", mid.getvalue(), "audio/midi"),
            OutputFile("music.wav", wav.getvalue(), "audio/wav"),
        ]
        return Artifact("music", files, {"key": "C major"})


@pytest.fixture
def fake_engines(monkeypatch):
    """Replace the installed engines with the three fakes above."""
    fakes = {cls.name: cls for cls in (FakeText, FakeImage, FakeMusic)}
    monkeypatch.setattr(engines, "load_engines", lambda: fakes)
    return fakes
