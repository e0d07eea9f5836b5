"""The corpus's assets (hostile files written by hand, earlier results made once) and the helpers
its cases are built with (setups, checks, tmpfs mounts)."""

from __future__ import annotations

import io
import json
import os
import shutil
import struct
import subprocess
import sys
import zipfile
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from .core import Result, run_inprocess

# ---------------------------------------------------------------- assets


def _png_chunk(kind: bytes, payload: bytes, crc: int | None = None) -> bytes:
    value = zlib.crc32(kind + payload) & 0xFFFFFFFF if crc is None else crc
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", value)


def raw_png(
    width: int, height: int, *, data: bytes | None = None, before_idat: bytes = b"", color_type: int = 2
) -> bytes:
    """A PNG written by hand: any header, any chunks (the pixels are zeros unless given)."""
    channels = {0: 1, 2: 3, 6: 4}[color_type]
    if data is None:
        data = zlib.compress(b"".join(b"\0" + bytes(width * channels) for _ in range(min(height, 64))))
    header = struct.pack(">IIBBBBB", width, height, 8, color_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + before_idat
        + _png_chunk(b"IDAT", data)
        + _png_chunk(b"IEND", b"")
    )


def _varlen(n: int) -> bytes:
    out = [n & 0x7F]
    n >>= 7
    while n:
        out.append(0x80 | (n & 0x7F))
        n >>= 7
    return bytes(reversed(out))


def raw_midi(
    events: bytes, *, division: int = 480, fmt: int = 0, tracks: int = 1, track_length: int | None = None
) -> bytes:
    """A Standard MIDI File written by hand: one track holding ``events`` (delta-time + event
    bytes), with any header values."""
    header = b"MThd" + struct.pack(">IHHH", 6, fmt, tracks, division & 0xFFFF)
    length = len(events) if track_length is None else track_length
    return header + b"MTrk" + struct.pack(">I", length) + events


def _notes(count: int, ticks: int = 120) -> bytes:
    body = b"\x00\xff\x58\x04\x04\x02\x18\x08"
    for i in range(count):
        pitch = 60 + i % 12
        body += b"\x00" + bytes([0x90, pitch, 80]) + _varlen(ticks) + bytes([0x80, pitch, 0])
    return body + b"\x00\xff\x2f\x00"


MUSICXML_NOTE = "<note><pitch><step>{step}</step><octave>4</octave></pitch><duration>{d}</duration></note>"


def musicxml(
    notes: str = "", *, doctype: str = "", title: str = "t", divisions: str = "1", part_name: str = "Melody"
) -> str:
    if not notes:
        notes = "".join(MUSICXML_NOTE.format(step=s, d=1) for s in "CDEF")
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>{doctype}<score-partwise version="3.1">'
        f"<work><work-title>{title}</work-title></work>"
        f'<part-list><score-part id="P1"><part-name>{part_name}</part-name></score-part></part-list>'
        f'<part id="P1"><measure number="1"><attributes><divisions>{divisions}</divisions>'
        f"<time><beats>4</beats><beat-type>4</beat-type></time></attributes>{notes}</measure></part>"
        "</score-partwise>"
    )


def mxl(members: Mapping[str, bytes | str], *, method: int | None = None, flags: int | None = None) -> bytes:
    """A compressed MusicXML archive, optionally with its headers' compression method or flags
    changed afterwards (an unsupported method, an encrypted member)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    data = bytearray(buf.getvalue())
    for signature, flag_at, method_at in ((b"PK\x03\x04", 6, 8), (b"PK\x01\x02", 8, 10)):
        at = data.find(signature)
        while at >= 0:
            if flags is not None:
                data[at + flag_at] |= flags
            if method is not None:
                data[at + method_at : at + method_at + 2] = struct.pack("<H", method)
            at = data.find(signature, at + 4)
    return bytes(data)


def _lying_zip(name: str, payload: bytes, claimed: int) -> bytes:
    """A zip whose headers claim ``claimed`` bytes for a member that inflates to more."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("META-INF/container.xml", f'<rootfile full-path="{name}"/>')
        archive.writestr(name, payload)
    data = bytearray(buf.getvalue())
    real = struct.pack("<I", len(payload))
    for signature, size_at in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        at = data.find(signature)
        while at >= 0:
            if data[at + size_at : at + size_at + 4] == real:
                data[at + size_at : at + size_at + 4] = struct.pack("<I", claimed)
            at = data.find(signature, at + 4)
    return bytes(data)


def deflated_zeros(size: int) -> bytes:
    """A raw deflate stream of ``size`` zero bytes (a multiple of 1 MiB), made in milliseconds:
    one fully flushed block of a MiB, repeated, then a final empty block."""
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = packer.compress(bytes(1 << 20)) + packer.flush(zlib.Z_FULL_FLUSH)
    return block * (size >> 20) + zlib.compressobj(9, zlib.DEFLATED, -15).flush()


def raw_zip(members: Sequence[tuple[str, bytes, int, int]]) -> bytes:
    """A zip of ``(name, deflated bytes, crc, size)`` members, written by hand (so a member may
    inflate to a GiB while the archive holds a MiB)."""
    body, central = b"", b""
    for name, data, crc, size in members:
        raw = name.encode()
        central += (
            struct.pack(
                "<4s6H3I5H2I",
                b"PK\x01\x02",
                20,
                20,
                0,
                8,
                0,
                0,
                crc,
                len(data),
                size,
                len(raw),
                0,
                0,
                0,
                0,
                0,
                len(body),
            )
            + raw
        )
        body += struct.pack("<4s5H3I2H", b"PK\x03\x04", 20, 0, 8, 0, 0, crc, len(data), size, len(raw), 0)
        body += raw + data
    end = struct.pack("<4s4H2IH", b"PK\x05\x06", 0, 0, len(members), len(members), len(central), len(body), 0)
    return body + central + end


def _deflated(text: str) -> tuple[bytes, int, int]:
    data = text.encode()
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    return packer.compress(data) + packer.flush(), zlib.crc32(data), len(data)


@dataclass
class Assets:
    """Input files and earlier results the corpus uses, made once (read-only by convention)."""

    path: Path

    @classmethod
    def build(cls, path: Path) -> Assets:
        path.mkdir(parents=True, exist_ok=True)
        assets = cls(path)
        if not (path / ".complete").exists():
            assets._make_files()
            assets._make_results()
            (path / ".complete").write_text("")
        return assets

    def __getitem__(self, name: str) -> Path:
        return self.path / name

    def _make_files(self) -> None:
        from PIL import Image

        p = self.path
        rng = [(x * 37 + y * 11) % 256 for y in range(64) for x in range(64)]
        photo = Image.new("RGB", (24, 24))
        photo.putdata([(x * 10 % 256, y * 10 % 256, 128) for y in range(24) for x in range(24)])
        photo.save(p / "photo.png")
        Image.new("RGB", (32, 20), (200, 120, 20)).save(p / "style.png")
        Image.new("L", (24, 24), 255).save(p / "mask.png")
        noisy = Image.new("L", (64, 64))
        noisy.putdata(rng)
        buf = io.BytesIO()
        noisy.convert("RGB").save(buf, "PNG")
        (p / "truncated.png").write_bytes(buf.getvalue()[: len(buf.getvalue()) * 6 // 10])
        (p / "not-an-image.png").write_text("this is not a picture\n")
        (p / "empty.png").write_bytes(b"")
        (p / "header-20000.png").write_bytes(raw_png(20000, 20000))
        (p / "header-9000x16.png").write_bytes(raw_png(9000, 16))
        (p / "huge-real-8192.png").write_bytes(
            raw_png(
                8192,
                8192,
                color_type=0,
                data=zlib.compress(b"".join(b"\0" + bytes(8192) for _ in range(8192)), 9),
            )
        )
        Image.new("RGB", (1, 1)).save(p / "one-pixel.png")
        Image.new("RGB", (16, 15)).save(p / "sixteen-by-fifteen.png")
        Image.new("CMYK", (24, 24), (10, 200, 30, 0)).save(p / "cmyk.jpg")
        Image.new("I;16", (24, 24), 40000).save(p / "sixteen-bit.png")
        Image.new("LA", (24, 24), (90, 100)).save(p / "gray-alpha.png")
        Image.new("1", (24, 24), 1).save(p / "one-bit.png")
        Image.new("F", (24, 24), 0.5).save(p / "float.tiff")
        Image.new("I", (24, 24), 70000).save(p / "int32.tiff")
        pal = Image.new("P", (24, 24), 3)
        pal.info["transparency"] = 3
        pal.save(p / "palette-transparent.png")
        frames = [Image.new("RGB", (24, 24), (i * 80, 0, 0)) for i in range(3)]
        frames[0].save(p / "animated.gif", save_all=True, append_images=frames[1:], duration=50, loop=0)
        Image.new("RGB", (24, 24), (1, 2, 3)).save(p / "image.webp")
        text_bomb = b"k\0\0" + zlib.compress(b"a" * (8 << 20), 9)
        (p / "ztxt-bomb.png").write_bytes(raw_png(24, 24, before_idat=_png_chunk(b"zTXt", text_bomb)))
        (p / "iccp-bomb.png").write_bytes(raw_png(24, 24, before_idat=_png_chunk(b"iCCP", text_bomb)))
        (p / "bad-crc.png").write_bytes(raw_png(24, 24)[:29] + b"\0\0\0\0" + raw_png(24, 24)[33:])
        (p / "bad-exif.png").write_bytes(
            raw_png(24, 24, before_idat=_png_chunk(b"eXIf", b"II*\0\xff\xff\xff\x7f"))
        )
        bmp = (
            struct.pack("<2sIHHI", b"BM", 54 + 16, 0, 0, 54)
            + struct.pack("<IiiHHIIiiII", 40, 8000, 8000, 1, 24, 0, 16, 2835, 2835, 0, 0)
            + bytes(16)
        )
        (p / "bmp-8000-truncated.bmp").write_bytes(bmp)
        # melodies
        from museforge.music.io import parse_note_string, score_to_musicxml
        from museforge.music.midi import score_to_midi

        good = score_to_midi(parse_note_string("C4 D4 E4 F4 G4:2"))
        (p / "good.mid").write_bytes(good)
        (p / "truncated.mid").write_bytes(good[: len(good) // 2])
        (p / "empty.mid").write_bytes(b"")
        (p / "header-only.mid").write_bytes(b"MThd")
        (p / "smpte.mid").write_bytes(raw_midi(_notes(4), division=0xE728))
        (p / "zero-division.mid").write_bytes(raw_midi(_notes(4), division=0))
        (p / "events-200k.mid").write_bytes(raw_midi(_notes(100_001, ticks=1)))
        (p / "notes-4001.mid").write_bytes(raw_midi(_notes(4001)))
        long_note = b"\x00\x90\x3c\x50" + _varlen(0x0FFFFFFF) + b"\x80\x3c\x00\x00\xff\x2f\x00"
        (p / "absurd-duration.mid").write_bytes(raw_midi(long_note))
        (p / "huge-meta.mid").write_bytes(raw_midi(b"\x00\xff\x01" + _varlen(0x0FFFFFFF) + b"abc"))
        (p / "track-length-lies.mid").write_bytes(raw_midi(_notes(4), track_length=0x7FFFFFFF))
        (p / "bad-varlen.mid").write_bytes(raw_midi(b"\xff\xff\xff\xff\xff\x90\x3c\x50"))
        (p / "drums-only.mid").write_bytes(
            raw_midi(b"".join(b"\x00\x99\x24\x50\x60\x89\x24\x00" for _ in range(8)) + b"\x00\xff\x2f\x00")
        )
        (p / "no-note-off.mid").write_bytes(raw_midi(b"\x00\x90\x3c\x50\x00\x90\x3e\x50\x00\xff\x2f\x00"))
        (p / "bad-time-signature.mid").write_bytes(raw_midi(b"\x00\xff\x58\x04\x00\x07\x18\x08" + _notes(2)))
        (p / "tempo-zero.mid").write_bytes(raw_midi(b"\x00\xff\x51\x03\x00\x00\x00" + _notes(3)))
        (p / "format-2.mid").write_bytes(raw_midi(_notes(3), fmt=2))
        (p / "tracks-claimed-9999.mid").write_bytes(raw_midi(_notes(3), fmt=1, tracks=9999))
        (p / "good.musicxml").write_text(musicxml())
        (p / "good.xml").write_bytes(score_to_musicxml(parse_note_string("E4 D4 C4:2")))
        (p / "malformed.musicxml").write_text("<score-partwise><part><measure>")
        (p / "empty.musicxml").write_text("")
        (p / "html.xml").write_text("<html><body>hello</body></html>")
        (p / "no-notes.musicxml").write_text(musicxml("<note><rest/><duration>4</duration></note>"))
        laughs = "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10))
        (p / "billion-laughs.musicxml").write_text(
            musicxml(doctype=f'<!DOCTYPE score-partwise [<!ENTITY l0 "lol">{laughs}]>', title="&l9;")
        )
        (p / "xxe-passwd.musicxml").write_text(
            musicxml(
                doctype='<!DOCTYPE score-partwise [<!ENTITY x SYSTEM "file:///etc/passwd">]>',
                title="&x;",
                part_name="&x;",
            )
        )
        (p / "xxe-parameter.musicxml").write_text(
            musicxml(doctype='<!DOCTYPE score-partwise [<!ENTITY % p SYSTEM "file:///etc/passwd"> %p;]>')
        )
        (p / "absurd-duration.musicxml").write_text(musicxml(MUSICXML_NOTE.format(step="C", d=10**12)))
        (p / "zero-divisions.musicxml").write_text(musicxml(divisions="0"))
        (p / "negative-duration.musicxml").write_text(musicxml(MUSICXML_NOTE.format(step="C", d=-4)))
        (p / "nan-duration.musicxml").write_text(musicxml(MUSICXML_NOTE.format(step="C", d="NaN")))
        (p / "utf16.musicxml").write_bytes(musicxml().replace("UTF-8", "UTF-16").encode("utf-16"))
        container = '<container><rootfiles><rootfile full-path="score.xml"/></rootfiles></container>'
        (p / "good.mxl").write_bytes(mxl({"META-INF/container.xml": container, "score.xml": musicxml()}))
        (p / "not-a-zip.mxl").write_bytes(b"PK\x03\x04 this is not a zip")
        (p / "no-container.mxl").write_bytes(mxl({"score.xml": musicxml()}))
        (p / "container-to-nothing.mxl").write_bytes(mxl({"META-INF/container.xml": container}))
        (p / "container-traversal.mxl").write_bytes(
            mxl(
                {
                    "META-INF/container.xml": container.replace("score.xml", "../../../../etc/passwd"),
                    "score.xml": musicxml(),
                }
            )
        )
        (p / "encrypted.mxl").write_bytes(
            mxl({"META-INF/container.xml": container, "score.xml": musicxml()}, flags=1)
        )
        (p / "unknown-method.mxl").write_bytes(
            mxl({"META-INF/container.xml": container, "score.xml": musicxml()}, method=99)
        )
        (p / "zip-bomb.mxl").write_bytes(
            raw_zip(
                [
                    ("META-INF/container.xml", *_deflated(container)),
                    ("score.xml", deflated_zeros(64 << 20), 0, 64 << 20),
                ]
            )
        )
        (p / "zip-bomb-lying.mxl").write_bytes(_lying_zip("score.xml", b" " * (3 << 20), 1000))
        (p / "container-bomb.mxl").write_bytes(
            raw_zip([("META-INF/container.xml", deflated_zeros(1 << 30), 0, 1 << 30)])
        )
        (p / "poem.txt").write_text("床前明月光\n疑是地上霜\n举头望明月\n低头思故乡\n")
        (p / "binary.txt").write_bytes(bytes(range(256)) * 4)
        (p / "utf16.txt").write_bytes("a quiet lake".encode("utf-16"))
        (p / "big.txt").write_bytes(b"a" * 500_001)
        (p / "fake.safetensors").write_bytes(b"\xff" * 64)
        (p / "rsa.pem").write_bytes(_rsa_public_pem())
        _tiny_diffusion(p / "tiny-diffusion" / "model.safetensors")
        _tiny_gan(p / "tiny-gan" / "model.safetensors")
        _captioned(p / "captioned")

    def _make_results(self) -> None:
        """Earlier results that commands must leave intact: a Work, a painting pair, a
        composition folder (all in-process, signed by this session's key)."""
        p = self.path
        jobs = [
            [
                "create",
                "a quiet lake at dawn",
                "--seed",
                "7",
                "--out",
                str(p / "base-work"),
                "-q",
                "--param",
                "image.size=16",
                "--param",
                "image.style=geometric",
                "--param",
                "music.bars=1",
            ],
            [
                "paint",
                "a quiet lake",
                "--style",
                "geometric",
                "--size",
                "16",
                "--seed",
                "3",
                "--out",
                str(p / "base-paint" / "p.png"),
            ],
            ["compose", "--bars", "1", "--seed", "3", "--out", str(p / "base-compose")],
        ]
        for argv in jobs:
            result = run_inprocess(argv, p, timeout=300)
            if result.code != 0:
                raise RuntimeError(f"cannot make the fuzz assets: {argv[:2]}: {result.stderr[-500:]}")


def _rsa_public_pem() -> bytes:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ec import SECP256R1, generate_private_key

    key = generate_private_key(SECP256R1())
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


# ---------------------------------------------------------------- corpus helpers


def _tiny_diffusion(path: Path) -> None:
    """A diffusion model of random weights, small enough that a painting takes milliseconds."""
    import torch

    from museforge.image.diffusion.model import DiffusionModel
    from museforge.image.diffusion.text import TextEncoder, TextEncoderConfig, Tokenizer, vocabulary_texts
    from museforge.image.diffusion.unet import UNet, UNetConfig
    from museforge.image.diffusion.upscale import Upscaler, UpscalerConfig

    torch.manual_seed(0)
    unet = UNetConfig(
        sample_size=8,
        block_out_channels=(8, 16),
        attention=(False, True),
        layers_per_block=1,
        cross_attention_dim=16,
        attention_head_dim=8,
        norm_num_groups=8,
    )
    tokenizer = Tokenizer.build(vocabulary_texts())
    model = DiffusionModel(
        UNet(unet),
        TextEncoder(TextEncoderConfig(len(tokenizer.vocab), 16, 1, 2)),
        tokenizer,
        upscaler=Upscaler(UpscalerConfig(factor=2, width=4, blocks=1)),
        name="tiny",
    )
    model.save(path)


def _tiny_gan(path: Path) -> None:
    """A GAN of random weights."""
    import torch

    from museforge.image.diffusion.text import TextEncoder, TextEncoderConfig, Tokenizer, vocabulary_texts
    from museforge.image.gan import GANConfig, Generator
    from museforge.image.gan_model import GANModel

    torch.manual_seed(0)
    tokenizer = Tokenizer.build(vocabulary_texts())
    GANModel(
        Generator(GANConfig(size=32, z_dim=8, width=4, text_dim=16)),
        TextEncoder(TextEncoderConfig(len(tokenizer.vocab), 16, 1, 2)),
        tokenizer,
        name="tiny-gan",
    ).save(path)


def _captioned(folder: Path) -> None:
    """Three small images with captions beside them, as training folders hold them."""
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    for i, colour in enumerate(("red", "green", "blue")):
        Image.new("RGB", (20, 16), colour).save(folder / f"{i}.png")
        (folder / f"{i}.txt").write_text(f"a {colour} field")


def copy_asset(name: str, dest: str) -> Callable[[Path, Assets], None]:
    """A setup: copy an asset (file or folder) to ``dest`` in the case's folder."""

    def setup(folder: Path, assets: Assets) -> None:
        src, target = assets[name], folder / dest
        target.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, target, symlinks=True)
        else:
            shutil.copy2(src, target)

    return setup


def steps(*setups: Callable[[Path, Assets], None] | None) -> Callable[[Path, Assets], None]:
    def setup(folder: Path, assets: Assets) -> None:
        for step in setups:
            if step:
                step(folder, assets)

    return setup


def make(files: Mapping[str, bytes | str]) -> Callable[[Path, Assets], None]:
    """A setup: write these files (``None`` content is a folder)."""

    def setup(folder: Path, assets: Assets) -> None:
        for name, data in files.items():
            path = folder / name
            path.parent.mkdir(parents=True, exist_ok=True)
            if data is None:
                path.mkdir(exist_ok=True)
            elif isinstance(data, str):
                path.write_text(data)
            else:
                path.write_bytes(data)

    return setup


def _hostile_paths(folder: Path, assets: Assets) -> None:
    """A FIFO, a symlink loop, a folder and a file with a newline in its name, under names a
    command may take for an image, a melody or a poem."""
    for name in ("ff", "ff.mid", "ff.png", "ff.txt"):
        os.mkfifo(folder / name)
    for stem in ("loop", "loop.mid", "loop.png"):
        os.symlink(stem + ".2", folder / stem)
        os.symlink(stem, folder / (stem + ".2"))
    for name in ("dir", "dir.mid", "dir.png", "dir.txt"):
        (folder / name).mkdir()
    shutil.copy(assets["photo.png"], folder / "new\nline.png")
    shutil.copy(assets["good.mid"], folder / "new\nline.mid")
    (folder / "file.txt").write_text("a file, not a folder\n")


def _mount_tmpfs(size: str) -> Callable[[Path, Assets], None]:
    def setup(folder: Path, assets: Assets) -> None:
        disk = folder / "disk"
        disk.mkdir()
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(disk)],
            capture_output=True,
            text=True,
            timeout=30,
        )
        if done.returncode != 0:
            raise DiskUnavailable(done.stderr.strip() or f"mount exited {done.returncode}")

    return setup


def _unmount(folder: Path) -> None:
    disk = folder / "disk"
    if os.path.ismount(disk):
        subprocess.run(["umount", "-l", str(disk)], capture_output=True, timeout=30)


class DiskUnavailable(Exception):
    """A tmpfs cannot be mounted here (not root, or not permitted)."""


def tmpfs_available(scratch: Path) -> str:
    """Empty when a tmpfs can be mounted here, else why not."""
    if not sys.platform.startswith("linux"):
        return "tmpfs mounts need Linux"
    if os.geteuid() != 0:
        return "mounting a tmpfs needs root"
    probe = scratch / "tmpfs-probe"
    probe.mkdir(parents=True, exist_ok=True)
    try:
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(probe)],
            capture_output=True,
            text=True,
            timeout=30,
        )
    except (OSError, subprocess.SubprocessError) as err:
        return f"mount failed: {err}"
    if done.returncode != 0:
        return f"mount is not permitted here: {done.stderr.strip()[:120]}"
    subprocess.run(["umount", "-l", str(probe)], capture_output=True, timeout=30)
    return ""


def with_value(base: Sequence[str], flag: str, value: str) -> list[str]:
    """``base`` with ``flag`` given ``value`` (an earlier ``flag VALUE`` removed), as
    ``flag=value`` so that values such as ``-inf`` stay values."""
    out: list[str] = []
    skip = False
    for i, arg in enumerate(base):
        if skip:
            skip = False
            continue
        if arg == flag and i + 1 < len(base):
            skip = True
            continue
        if arg.startswith(flag + "="):
            continue
        out.append(arg)
    return [*out, f"{flag}={value}"]


def exists(rel: str) -> Callable[[Path, Result], str | None]:
    return lambda folder, result: None if (folder / rel).exists() else f"{rel} was not written"


def _recorded_inputs(rel: str, role: str, count: int) -> Callable[[Path, Result], str | None]:
    """A check: the Work at ``rel`` records ``count`` input files of ``role``."""

    def check(folder: Path, result: Result) -> str | None:
        data = json.loads((folder / rel / "work.json").read_text())
        found = [i for a in data["artifacts"] for i in a.get("inputs", []) if i.get("role") == role]
        return None if len(found) == count else f"{len(found)} {role} recorded, not {count}"

    return check


def no_passwd(rel: str) -> Callable[[Path, Result], str | None]:
    """A check: nothing under ``rel`` (nor the output) holds a line of /etc/passwd."""

    def check(folder: Path, result: Result) -> str | None:
        needle = b"root:x:0:0"
        if needle.decode() in result.stdout + result.stderr:
            return "/etc/passwd was printed"
        for path in (folder / rel).rglob("*") if (folder / rel).is_dir() else []:
            if path.is_file() and needle in path.read_bytes():
                return f"/etc/passwd found in {path.name}"
        return None

    return check
