"""Signatures that mean something: who signed, whether that key is trusted, every file covered
(report.html too), nothing added, no path tricks, and a signing key private from birth."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ec import SECP256R1, generate_private_key
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from museforge import keys
from museforge.cli import main
from museforge.errors import MuseforgeError
from museforge.provenance import sign_manifest
from museforge.work import verify_path


@pytest.fixture
def work(tmp_path, fake_engines) -> Path:
    out = tmp_path / "w"
    assert main(["create", "a stormy sea at night", "--seed", "3", "--out", str(out), "-q"]) == 0
    return out


def _verify(capsys, *argv) -> tuple[int, str]:
    code = main(["verify", *map(str, argv)])
    return code, capsys.readouterr().out


def test_own_work_verifies_and_names_its_signer(work, capsys):
    code, out = _verify(capsys, work)
    assert code == 0 and "the Work is intact" in out and "your own key" in out
    assert "report.html  ok" in out  # the report is signed like every other file


def test_work_resigned_with_a_new_key_names_the_unknown_key(work, capsys):
    manifest = json.loads((work / "work.json").read_text())
    manifest["prompt"] = "a forged prompt"
    manifest["signer"] = "Mallory"
    manifest["signature"] = sign_manifest(manifest, Ed25519PrivateKey.generate())
    (work / "work.json").write_text(json.dumps(manifest))
    code, out = _verify(capsys, work)
    assert code == 1 and 'an unknown key SHA256:' in out and '"Mallory"' in out
    assert "intact but signed by an unknown key" in out
    assert _verify(capsys, work, "--allow-unknown")[0] == 0


@pytest.mark.parametrize("change", ["add", "remove", "rename", "replace_report", "edit_manifest"])
def test_any_change_to_the_files_fails(work, capsys, change):
    if change == "add":
        (work / "extra.txt").write_text("x")
    elif change == "remove":
        (work / "music.wav").unlink()
    elif change == "rename":
        (work / "poem.txt").rename(work / "poem2.txt")
    elif change == "replace_report":
        (work / "report.html").write_text("<p>another page</p>")
    else:
        text = (work / "work.json").read_text().replace('"seed": 3', '"seed": 4', 1)
        (work / "work.json").write_text(text)
    code, out = _verify(capsys, work)
    assert code == 1 and "the Work was altered" in out


def test_entries_that_are_not_plain_files_fail_without_being_opened(work, capsys, tmp_path):
    (work / "music.wav").unlink()
    os.mkfifo(work / "music.wav")  # opening it would block: verify must not
    code, out = _verify(capsys, work)
    assert code == 1 and "music.wav  not a file" in out
    (work / "music.wav").unlink()
    (work / "music.wav").symlink_to(tmp_path)
    assert "music.wav  not a file" in _verify(capsys, work)[1]


@pytest.mark.parametrize("name", ["../escape.txt", "/etc/passwd", "sub/poem.txt", ".."])
def test_hostile_file_names_in_work_json_are_one_line(work, capsys, name):
    manifest = json.loads((work / "work.json").read_text())
    manifest["artifacts"][0]["files"][0]["name"] = name
    manifest["signature"] = sign_manifest(manifest, keys.load_signing_key())  # even when signed
    (work / "work.json").write_text(json.dumps(manifest))
    for command in ("verify", "show", "reproduce"):
        assert main([command, str(work)]) == 1
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "not a plain file name inside the Work" in err[0]


def test_keys_export_trust_list_and_name(work, capsys, tmp_path, monkeypatch):
    assert main(["keys", "name", "Ada Lovelace"]) == 0
    exported = tmp_path / "ada.json"
    assert main(["keys", "export", "--out", str(exported)]) == 0
    ours = json.loads(exported.read_text())
    assert ours["name"] == "Ada Lovelace" and ours["fingerprint"].startswith("SHA256:")
    assert "PRIVATE" not in exported.read_text()
    ada = tmp_path / "ada-work"
    assert main(["create", "a quiet lake", "--seed", "1", "--out", str(ada), "-q"]) == 0
    capsys.readouterr()
    other = tmp_path / "other-home"  # someone else, who has never heard of Ada
    monkeypatch.setenv("MUSEFORGE_HOME", str(other))
    code, out = _verify(capsys, ada)
    assert code == 1 and 'calling itself "Ada Lovelace"' in out
    assert main(["keys", "trust", str(exported)]) == 0
    code, out = _verify(capsys, ada)
    assert code == 0 and "Ada Lovelace (SHA256:" in out and "a key you trust" in out
    assert main(["keys", "list"]) == 0
    listed = capsys.readouterr().out
    assert "trusted  " + ours["fingerprint"] in listed and "Ada Lovelace" in listed
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "museforge-public-key", "algorithm": "ed25519", "public_key": "AAAA"}')
    assert main(["keys", "trust", str(bad)]) == 1
    assert "not a valid Ed25519 key" in capsys.readouterr().err


def test_signing_key_is_private_from_birth(tmp_path, monkeypatch):
    home = tmp_path / "h" / "museforge"
    monkeypatch.setenv("MUSEFORGE_HOME", str(home))
    old = os.umask(0)
    try:
        keys.load_signing_key()
    finally:
        os.umask(old)
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    assert stat.S_IMODE((home / "signing-key.pem").stat().st_mode) == 0o600


def test_a_key_of_another_kind_is_never_overwritten_and_a_corrupt_one_is_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv("MUSEFORGE_HOME", str(tmp_path))
    pem = generate_private_key(SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    (tmp_path / "signing-key.pem").write_bytes(pem)
    with pytest.raises(MuseforgeError, match="another kind, not Ed25519; museforge never overwrites"):
        keys.load_signing_key()
    assert (tmp_path / "signing-key.pem").read_bytes() == pem
    (tmp_path / "signing-key.pem").write_bytes(b"-----BEGIN PRIVATE KEY-----\ngarbage\n")
    with pytest.raises(MuseforgeError, match=r"cannot be read .*move it away") as err:
        keys.load_signing_key()
    assert "\n" not in str(err.value)


def test_lone_file_from_a_trusted_signer(work, capsys):
    verdict = verify_path(work / "painting.png")
    assert verdict.accepted() and verdict.signer.trust == "own"
