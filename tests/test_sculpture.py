"""Sculpture files in physical units: the GLB in metres (Y-up, normals, a PBR material, vertex
colours), the STL in millimetres (Z-up), both watertight and the same size."""

from __future__ import annotations

import json
import struct

import numpy as np
import pytest

from museforge.emotion import art_direction
from museforge.emotion.moods import Emotion
from museforge.image.sculpture import HEIGHT, HEIGHT_M, export_files, load_mesh, sculpt


def glb_json(glb: bytes) -> dict:
    """The JSON chunk of a GLB (the first chunk, by the glTF 2.0 binary layout)."""
    magic, version, length = struct.unpack("<4sII", glb[:12])
    assert (magic, version, length) == (b"glTF", 2, len(glb))
    size, kind = struct.unpack("<I4s", glb[12:20])
    assert kind == b"JSON"
    return json.loads(glb[20 : 20 + size])


@pytest.fixture(scope="module", params=["superformula", "organic", "tree"])
def files(request) -> dict[str, bytes]:
    if request.param == "tree":
        pytest.importorskip("skimage")
    direction = art_direction(Emotion("melancholy", -0.5, -0.3))
    s = sculpt("an old tree", direction, -0.3, -0.5, request.param, 1, np.random.default_rng(2))
    out = {f.name: f.data for f in export_files(s, direction)}
    again = {f.name: f.data for f in export_files(s, direction)}
    assert again == out  # deterministic
    return out


def test_glb_json_has_normals_colours_and_a_pbr_material(files):
    doc = glb_json(files["sculpture.glb"])
    assert doc["asset"]["version"] == "2.0"
    (mesh,) = doc["meshes"]
    for prim in mesh["primitives"]:
        assert {"POSITION", "NORMAL", "COLOR_0"} <= set(prim["attributes"])
        material = doc["materials"][prim["material"]]
        pbr = material["pbrMetallicRoughness"]
        assert len(pbr["baseColorFactor"]) == 4 and all(0 <= c <= 1 for c in pbr["baseColorFactor"])
        assert 0 <= pbr["metallicFactor"] <= 0.5 and 0.2 <= pbr["roughnessFactor"] <= 0.9
        pos = doc["accessors"][prim["attributes"]["POSITION"]]
        lo, hi = np.array(pos["min"]), np.array(pos["max"])
        assert lo[1] == pytest.approx(0.0, abs=1e-6)  # Y-up, standing on the ground
        assert 0.1 <= hi[1] - lo[1] <= 1.0 and hi[1] - lo[1] == pytest.approx(HEIGHT_M, rel=1e-5)
        assert max(hi - lo) < 1.0  # metres: a tabletop piece, not a 300-metre tower
        normals = doc["accessors"][prim["attributes"]["NORMAL"]]
        assert normals["type"] == "VEC3" and normals["count"] == pos["count"]


def test_glb_loads_back_in_metres_and_watertight(files):
    mesh = load_mesh(files["sculpture.glb"], "glb")
    assert mesh.is_watertight and mesh.volume > 0
    assert mesh.extents[1] == pytest.approx(HEIGHT_M, rel=1e-5) and mesh.extents.max() < 1.0
    assert mesh.visual.material is not None  # the PBR material comes back with the mesh
    n = np.asarray(mesh.vertex_normals)
    assert np.allclose(np.linalg.norm(n, axis=1), 1.0, atol=1e-4)
    agree = np.einsum("ij,ij->i", n[mesh.faces].mean(1), mesh.face_normals)
    assert (agree > 0).mean() > 0.99  # the stored normals point out, as the winding does


def test_stl_stays_in_millimetres(files):
    stl = files["sculpture.stl"]
    assert b"millimetres" in stl[:80]
    mesh = load_mesh(stl, "stl")
    assert mesh.is_watertight and mesh.volume > 0
    assert mesh.extents[2] == pytest.approx(HEIGHT, rel=1e-5) == pytest.approx(1000 * HEIGHT_M)
    glb = load_mesh(files["sculpture.glb"], "glb")  # the same sculpture: Z-up mm vs Y-up m
    assert np.allclose(sorted(mesh.extents / 1000), sorted(glb.extents), rtol=1e-4)
