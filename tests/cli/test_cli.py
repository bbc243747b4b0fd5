"""The command line: happy paths decoded with independent readers, and every bad input's message and exit code."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import onnx
import pytest
from conftest import assert_error, ctrl_c_ready, run
from onnx import TensorProto, helper
from PIL import Image

# ---- rendering ------------------------------------------------------------------------------------------------


def test_gif_end_to_end(tiny_onnx: Path, tmp_path: Path) -> None:
    out = tmp_path / "a.gif"
    code, stdout, err = run("gif", str(out), "--model", str(tiny_onnx), "--steps", "30", "--scale", "3", "--json")
    assert code == 0, err
    summary = json.loads(stdout)
    assert summary["path"] == str(out) and summary["rendered_frames"] == 31 and summary["provider"] == "cpu"
    assert set(summary["seconds"]) >= {"rollout", "convert", "encode", "startup"}
    with Image.open(out) as im:
        assert im.size == (48, 48)
        assert im.info["loop"] == 0
        durations = []
        for i in range(im.n_frames):
            im.seek(i)
            durations.append(im.info["duration"])
    assert sum(durations) == 31 * 50 + 1000  # 20 fps, 1 s hold on the last frame
    assert f"wrote {out}" in err


def test_same_seed_same_bytes_other_seed_other_bytes(tiny_onnx: Path, tmp_path: Path) -> None:
    paths = [tmp_path / f"{i}.gif" for i in range(3)]
    for path, seed in zip(paths, ["4", "4", "5"], strict=True):
        code, _, err = run("gif", str(path), "--model", str(tiny_onnx), "--steps", "40", "--seed", seed, "-q")
        assert code == 0, err
    assert paths[0].read_bytes() == paths[1].read_bytes()
    assert paths[0].read_bytes() != paths[2].read_bytes()


def test_mp4_end_to_end(tiny_onnx: Path, tmp_path: Path) -> None:
    import imageio_ffmpeg

    out = tmp_path / "a.mp4"
    code, _, err = run("mp4", str(out), "--model", str(tiny_onnx), "--steps", "19", "--scale", "5", "--hold", "0")
    assert code == 0, err
    reader = imageio_ffmpeg.read_frames(str(out))
    meta = next(reader)
    frames = sum(1 for _ in reader)
    assert frames == 20
    assert meta["size"] == (80, 80) and meta["fps"] == 20.0 and meta["codec"] == "h264"
    assert "yuv420p" in meta["pix_fmt"]


def test_sheet_and_frames(tiny_onnx: Path, tmp_path: Path) -> None:
    code, _, err = run("sheet", str(tmp_path / "s.png"), "--model", str(tiny_onnx), "--steps", "15", "--frames", "4")
    assert code == 0, err
    atlas = json.loads((tmp_path / "s.json").read_text())
    assert len(atlas["frames"]) == 4 and atlas["meta"]["image"] == "s.png"
    with Image.open(tmp_path / "s.png") as im:
        assert im.size == (atlas["meta"]["size"]["w"], atlas["meta"]["size"]["h"]) == (64, 64)
    code, _, err = run("frames", str(tmp_path / "f"), "--model", str(tiny_onnx), "--steps", "6", "--every", "2")
    assert code == 0, err
    names = sorted(p.name for p in (tmp_path / "f").iterdir())
    assert names == [f"frame-{i:05d}.png" for i in range(4)]
    with Image.open(tmp_path / "f" / names[0]) as im:
        assert im.mode == "RGBA" and np.asarray(im)[..., 3].min() == 0  # transparent background


def test_damage_erases_a_disc(tiny_onnx: Path, tmp_path: Path) -> None:
    from ncarender.api import Renderer
    from ncarender.spec import parse_damage

    r = Renderer(tiny_onnx)
    plain = r.rollout([0], steps=20, background="transparent")
    hurt = r.rollout([0], steps=20, background="transparent", damage=[parse_damage("10:0,0,0.5")])
    np.testing.assert_array_equal(plain[:11], hurt[:11])
    assert hurt[11, 0, 8, 8, 3] == 0 or not np.array_equal(plain[11], hurt[11])


def _foreign_model(path: Path, channels: int = 16) -> None:
    """A contract-honouring model from 'another exporter': next_state = state * (1 - mask) + mask * 0.5."""
    state = helper.make_tensor_value_info("state", TensorProto.FLOAT, ["N", channels, "H", "W"])
    mask = helper.make_tensor_value_info("mask", TensorProto.FLOAT, ["N", 1, "H", "W"])
    out = helper.make_tensor_value_info("next_state", TensorProto.FLOAT, ["N", channels, "H", "W"])
    nodes = [
        helper.make_node("Mul", ["state", "mask"], ["sm"]),
        helper.make_node("Sub", ["state", "sm"], ["next_state"]),
    ]
    graph = helper.make_graph(nodes, "foreign", [state, mask], [out])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))


def test_model_without_metadata_renders_with_a_notice(tmp_path: Path) -> None:
    _foreign_model(tmp_path / "f.onnx")
    code, _, err = run(
        "gif", str(tmp_path / "f.gif"), "--model", str(tmp_path / "f.onnx"), "--steps", "3", "--size", "8"
    )
    assert code == 0, err
    assert "no ncarender metadata" in err
    with Image.open(tmp_path / "f.gif") as im:
        assert im.size == (32, 32)


# ---- bad input ------------------------------------------------------------------------------------------------


def _other_network(path: Path) -> None:
    x = helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3])
    y = helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 3])
    graph = helper.make_graph([helper.make_node("Relu", ["input"], ["output"])], "g", [x], [y])
    onnx.save(helper.make_model(graph), str(path))


@pytest.mark.parametrize(
    ("setup", "extra", "fragment"),
    [
        ("missing", [], "does not exist"),
        ("text", [], "not a readable ONNX model"),
        ("truncated", [], "not a readable ONNX model"),
        ("other", [], "not an NCA step model"),
        ("ok", ["--steps", "0"], "--steps must be a whole number from 1 to 10,000,000, got 0"),
        ("ok", ["--steps", "-3"], "--steps must be a whole number from 1 to 10,000,000, got -3"),
        ("ok", ["--scale", "0"], "scale"),
        ("ok", ["--every", "0"], "--every must be a whole number from 1"),
        ("ok", ["--size", "200000"], "GiB"),
        ("ok", ["--size", "axb"], "--size"),
        ("ok", ["--background", "plaid"], "unknown background 'plaid'"),
        ("ok", ["--provider", "cuda"], "--provider cuda"),
        ("ok", ["--provider", "tpu"], "unknown provider"),
        ("ok", ["--damage", "x:1"], "--damage"),
        ("ok", ["--seed", "-1"], "--seed must be a whole number from 0 to 9,223,372,036,854,775,807, got -1"),
        ("ok", ["--fps", "nan"], "--fps must be a number from 0.001 to 1,000, got nan"),
        ("ok", ["--hold", "700"], "--hold must be at most 655.3 s for GIF"),
    ],
)
def test_bad_render_input(tiny_onnx: Path, tmp_path: Path, setup: str, extra: list[str], fragment: str) -> None:
    model = {"ok": tiny_onnx}.get(setup, tmp_path / "m.onnx")
    if setup == "text":
        model.write_text("hello")
    elif setup == "truncated":
        model.write_bytes(tiny_onnx.read_bytes()[:1000])
    elif setup == "other":
        _other_network(model)
    out = tmp_path / "o.gif"
    out.write_bytes(b"precious")
    code, stdout, err = run("gif", str(out), "--model", str(model), *extra)
    assert_error(code, stdout, err, fragment)
    assert out.read_bytes() == b"precious"
    assert [p.name for p in tmp_path.iterdir() if p.name not in ("o.gif", "m.onnx")] == []  # no temporaries


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["gif", "{tmp}/x.gif", "--scale", "100000"], "GIF stores at most 65,535 pixels a side"),
        (["mp4", "{tmp}/x.mp4", "--scale", "2000"], "MP4 stores at most 16,384 pixels a side"),
        (["gif", "{tmp}/x.gif", "--steps", "3000000", "--size", "512"], "GiB; only"),
        (["sheet", "{tmp}/x.png", "--scale", "5000", "--frames", "64"], "sheet stores at most 16,384 pixels a side"),
        (["png", "{tmp}/x.png", "--scale", "5000"], "PNG still stores at most 16,384 pixels a side"),
        (["frames", "{tmp}/x", "--scale", "100000"], "GiB; only"),
        (["sheet", "{tmp}/x.png", "--seeds", "0-3", "--scale", "100000"], "gallery stores at most 16,384 pixels"),
        (["batch", "{tmp}/b", "--seeds", "0-3", "--scale", "100000", "--jobs", "1"], "GIF stores at most"),
    ],
)
def test_outputs_too_large_are_refused_before_the_rollout(
    tiny_onnx: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], fragment: str
) -> None:
    """A picture the format cannot store, or buffers larger than the free memory: one line, exit 1, no rollout."""
    from ncarender import api

    def no_rollout(*args: object, **kwargs: object) -> None:
        raise AssertionError("the rollout started")

    monkeypatch.setattr(api, "roll_out", no_rollout)
    code, stdout, err = run(*[a.format(tmp=tmp_path) for a in args], "--model", str(tiny_onnx))
    assert_error(code, stdout, err, fragment)
    assert [p.name for p in tmp_path.iterdir() if p.name != "b"] == []
    assert not any((tmp_path / "b").glob("seed-*"))


@pytest.mark.parametrize(
    ("command", "name", "fragment"),
    [
        ("gif", "missing/o.gif", "does not exist"),
        ("gif", "o.mp4", ".gif"),
        ("mp4", "o.gif", ".mp4"),
        ("sheet", "o.jpg", ".png"),
    ],
)
def test_bad_output_paths(tiny_onnx: Path, tmp_path: Path, command: str, name: str, fragment: str) -> None:
    code, stdout, err = run(command, str(tmp_path / name), "--model", str(tiny_onnx), "--steps", "2")
    assert_error(code, stdout, err, fragment)
    assert not (tmp_path / name).exists()


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_unwritable_folder(tiny_onnx: Path, tmp_path: Path) -> None:  # pragma: no cover - CI runs as root
    (tmp_path / "ro").mkdir(mode=0o555)
    code, stdout, err = run("gif", str(tmp_path / "ro" / "o.gif"), "--model", str(tiny_onnx))
    assert_error(code, stdout, err, "not writable")


def test_ctrl_c_leaves_no_partial_file(tiny_onnx: Path, tmp_path: Path) -> None:
    out = tmp_path / "o.mp4"
    out.write_bytes(b"precious")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ncarender",
            "mp4",
            str(out),
            "--model",
            str(tiny_onnx),
            "--steps",
            "100000",
            "--size",
            "64",
        ],
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=ctrl_c_ready,
    )
    deadline = time.time() + 60
    while time.time() < deadline and not any(p.name.startswith(".o.mp4") for p in tmp_path.iterdir()):
        time.sleep(0.05)
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert err.strip().splitlines()[-1] == "Error: interrupted" and "Traceback" not in err
    assert out.read_bytes() == b"precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o.mp4"]


# ---- foundation commands --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["export", "{tmp}/nope.pt"], "does not exist"),
        (["export", "{tmp}/junk.pt"], "not a readable torch checkpoint"),
        (["export", "{ckpt}", "-o", "{tmp}/missing/m.onnx"], "does not exist"),
        (["export", "{ckpt}", "-o", "{tmp}/m.txt"], ".onnx"),
        (["train", "{tmp}/nope.png", "-o", "{tmp}/m.pt"], "neither an existing file nor a built-in"),
        (["train", "{tmp}/junk.png", "-o", "{tmp}/m.pt"], "cannot read target image"),
        (["train", "snowflake", "-o", "{tmp}/missing/m.pt"], "does not exist"),
        (["train", "snowflake", "-o", "{tmp}/m.pt", "--mode", "wobble"], "unknown training mode"),
        (["train", "snowflake", "-o", "{tmp}/m.pt", "--resume"], "no checkpoint"),
        (["train", "reiter:2", "-o", "{tmp}/m.pt", "--size", "24"], "as in reiter:2@24"),
        (["train", "reiter:2:1@16", "-o", "{tmp}/m.pt", "--pad", "4"], "--size and --pad do not apply to a family"),
        (["info", "{tmp}/nope.onnx"], "does not exist"),
        (["info", "{tmp}/junk.png"], "expected a .onnx model or a .pt checkpoint"),
    ],
)
def test_bad_foundation_input(tiny_checkpoint: Path, tmp_path: Path, args: list[str], fragment: str) -> None:
    (tmp_path / "junk.pt").write_bytes(os.urandom(200))
    (tmp_path / "junk.png").write_bytes(os.urandom(200))
    before = sorted(p.name for p in tmp_path.iterdir())
    filled = [a.format(tmp=tmp_path, ckpt=tiny_checkpoint) for a in args]
    code, stdout, err = run(*filled)
    assert_error(code, stdout, err, fragment)
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_export_and_info_commands(tiny_checkpoint: Path, tmp_path: Path) -> None:
    out = tmp_path / "m.onnx"
    code, stdout, err = run("export", str(tiny_checkpoint), "-o", str(out), "--json", "--parity-steps", "100")
    assert code == 0, err
    report = json.loads(stdout)
    assert report["max_abs_diff"] < report["tolerance"] and report["parity_steps"] == 100
    assert "max abs diff" in err
    code, stdout, _ = run("info", str(out), "--json")
    info = json.loads(stdout)
    assert info["inputs"] == {"state": ["N", 16, "H", "W"], "mask": ["N", 1, "H", "W"]}
    assert (
        info["grid"] == [16, 16]
        and info["training_iterations"] == 30
        and "CPUExecutionProvider" in info["providers_available"]
    )
    code, stdout, _ = run("info", str(tiny_checkpoint), "--json")
    assert json.loads(stdout)["parameters"] == 48 * 128 + 128 + 128 * 16


def test_train_command_writes_a_checkpoint_and_preview(tmp_path: Path) -> None:
    from PIL import Image as PILImage

    target = tmp_path / "t.jpg"  # JPEG: no alpha -> opaque
    PILImage.new("RGB", (10, 10), (200, 30, 30)).save(target)
    out = tmp_path / "m.pt"
    code, stdout, err = run(
        "train",
        str(target),
        "-o",
        str(out),
        "--mode",
        "grow",
        "--iterations",
        "2",
        "--batch-size",
        "1",
        "--size",
        "6",
        "--pad",
        "3",
        "--steps-min",
        "4",
        "--steps-max",
        "5",
        "--preview",
        str(tmp_path / "p.png"),
        "--json",
    )
    assert code == 0, err
    assert json.loads(stdout)["iterations"] == 2 and out.exists() and (tmp_path / "p.png").exists()


# ---- start-up -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("argv", [["--help"], ["gif", "{tmp}/o.gif", "--model", "{model}", "--steps", "3"]])
def test_help_and_render_do_not_import_torch(tiny_onnx: Path, tmp_path: Path, argv: list[str]) -> None:
    args = [a.format(tmp=tmp_path, model=tiny_onnx) for a in argv]
    code = (
        "import sys\n"
        "from ncarender.cli import app\n"
        f"try:\n    app({args!r})\nexcept SystemExit as e:\n    assert not e.code, e.code\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr


def test_version() -> None:
    code, stdout, _ = run("--version")
    assert code == 0 and stdout.startswith("ncarender 0.")
