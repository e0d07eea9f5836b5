import io
import json
import wave

import mido
import numpy as np
from PIL import Image

from museforge.engines import OutputFile
from museforge.keys import load_signing_key
from museforge.provenance import (
    a1111_parameters,
    embed,
    read_embedded,
    read_png_texts,
    sign_manifest,
    verify_manifest,
)

RECORD = {
    "prompt": "在一片神秘的森林中，",
    "lang": "zh",
    "emotion": {
        "label": "mysterious",
        "valence": -0.1,
        "arousal": 0.1,
        "confidence": 0.5,
        "source": "detected",
    },
    "engine": "e",
    "engine_version": "1",
    "model_sha256": None,
    "params": {"size": 8},
    "seed": 11,
    "libraries": {"numpy": "x"},
}


def _png(size=(5, 3)) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.arange(size[0] * size[1] * 3, dtype=np.uint8).reshape(size[1], size[0], 3)).save(
        buf, "PNG"
    )
    return buf.getvalue()


def test_png_chunks_readable_by_pillow_and_pixels_unchanged(tmp_path):
    original = _png()
    [out] = embed(OutputFile("a.png", original, "image/png"), RECORD)
    path = tmp_path / "a.png"
    path.write_bytes(out.data)
    with Image.open(path) as im:
        info = dict(im.info)
        pixels = np.asarray(im)
    assert info["parameters"].startswith("在一片神秘的森林中，\nSteps: 1, Sampler: e, Seed: 11, Size: 5x3")
    assert json.loads(info["museforge"]) == RECORD
    assert np.array_equal(pixels, np.asarray(Image.open(io.BytesIO(original))))
    assert read_embedded(path) == RECORD


def test_latin1_prompt_uses_text_chunk():
    record = {**RECORD, "prompt": "a stormy sea"}
    [out] = embed(OutputFile("a.png", _png(), "image/png"), record)
    assert b"tEXtparameters\x00a stormy sea" in out.data
    assert read_png_texts(out.data)["parameters"].startswith("a stormy sea\n")


def test_a1111_quotes_values_with_commas():
    record = {**RECORD, "params": {"style": "ink, wash"}}
    assert 'Style: "ink, wash"' in a1111_parameters(record, None)


def test_midi_meta_event_round_trip(tmp_path):
    midi = mido.MidiFile(type=1)
    midi.tracks.append(
        mido.MidiTrack(
            [
                mido.Message("note_on", note=60, velocity=64, time=0),
                mido.Message("note_off", note=60, velocity=0, time=480),
            ]
        )
    )
    buf = io.BytesIO()
    midi.save(file=buf)
    [out] = embed(OutputFile("m.mid", buf.getvalue(), "audio/midi"), RECORD)
    path = tmp_path / "m.mid"
    path.write_bytes(out.data)
    assert read_embedded(path) == RECORD
    notes = [m for m in mido.MidiFile(path).tracks[0] if m.type in ("note_on", "note_off")]
    assert [(m.type, m.note, m.time) for m in notes] == [("note_on", 60, 0), ("note_off", 60, 480)]


def test_wav_info_chunk_keeps_audio_readable(tmp_path):
    buf = io.BytesIO()
    frames = (np.sin(np.arange(1000) / 5) * 3000).astype("<i2").tobytes()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(frames)
    [out] = embed(OutputFile("s.wav", buf.getvalue(), "audio/wav"), RECORD)
    path = tmp_path / "s.wav"
    path.write_bytes(out.data)
    with wave.open(str(path)) as w:
        assert w.getnframes() == 1000
        assert w.readframes(1000) == frames
    assert read_embedded(path) == RECORD


def test_svg_metadata_and_text_sidecar(tmp_path):
    svg = b'<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"><rect width="4" height="4"/></svg>'
    [out] = embed(OutputFile("p.svg", svg, "image/svg+xml"), RECORD)
    (tmp_path / "p.svg").write_bytes(out.data)
    assert read_embedded(tmp_path / "p.svg") == RECORD
    txt, sidecar = embed(OutputFile("poem.txt", "诗".encode(), "text/plain"), RECORD)
    assert txt.data == "诗".encode() and sidecar.name == "poem.txt.provenance.json"
    (tmp_path / "poem.txt").write_bytes(txt.data)
    (tmp_path / sidecar.name).write_bytes(sidecar.data)
    assert read_embedded(tmp_path / "poem.txt") == RECORD


def test_signature_detects_any_change():
    key = load_signing_key()
    manifest = {"prompt": "sea", "artifacts": [{"sha256": "ab"}]}
    manifest["signature"] = sign_manifest(manifest, key)
    assert verify_manifest(manifest)
    tampered = json.loads(json.dumps(manifest))
    tampered["artifacts"][0]["sha256"] = "ac"
    assert not verify_manifest(tampered)
    assert not verify_manifest({k: v for k, v in manifest.items() if k != "signature"})


def test_signing_key_is_kept_between_calls(museforge_home):
    first = load_signing_key().public_key().public_bytes_raw()
    assert (museforge_home / "signing-key.pem").exists()
    assert load_signing_key().public_key().public_bytes_raw() == first
