"""Batch renders: seed specs, shards, the manifest, resume, failures, interruption and the gallery."""

from __future__ import annotations

import errno
import hashlib
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

from ncarender.api import Renderer
from ncarender.batch import (
    MANIFEST_NAME,
    Manifest,
    parse_seeds,
    parse_shard,
    read_manifest,
    render_batch,
    shard_seeds,
)
from ncarender.batch import encoders as encoders_module
from ncarender.batch import manifest as manifest_module
from ncarender.errors import NCAError
from ncarender.runtime import roll_out
from ncarender.spec import RenderSpec

SMALL = ["--size", "16", "--steps", "10", "--jobs", "1", "-q"]


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def outputs(folder: Path) -> dict[str, bytes]:
    """Every output file under ``folder`` (frames folders included), by relative path."""
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != MANIFEST_NAME
    }


def stable(record: dict[str, object]) -> str:
    """A manifest record without what differs between runs (time, seconds)."""
    return json.dumps({k: v for k, v in record.items() if k not in ("finished", "seconds")}, sort_keys=True)


# ---- seed specs and shards ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "seeds"),
    [
        ("0-4", [0, 1, 2, 3, 4]),
        ("7", [7]),
        ("0,5,17", [0, 5, 17]),
        ("0-30:10", [0, 10, 20, 30]),
        ("0-29:10", [0, 10, 20]),
        (" 3-4 , 1 ", [3, 4, 1]),
        ("1-3,2-5", [1, 2, 3, 4, 5]),  # repeats dropped, order kept
    ],
)
def test_parse_seeds(spec: str, seeds: list[int]) -> None:
    assert parse_seeds(spec) == seeds


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        ("5-1", "ends before it starts"),
        ("a-b", "cannot read 'a-b'"),
        ("", "empty"),
        ("  ", "empty"),
        ("1,,2", "cannot read ''"),
        ("-3", "cannot read '-3'"),
        ("1-5:0", "at least 1"),
        ("0-10000", "add --force"),
    ],
)
def test_parse_seeds_refuses(spec: str, fragment: str) -> None:
    with pytest.raises(NCAError, match=fragment):
        parse_seeds(spec)


def test_parse_seeds_force_allows_more() -> None:
    assert len(parse_seeds("0-10000", force=True)) == 10001
    with pytest.raises(NCAError, match="at most"):
        parse_seeds("0-99999999999", force=True)


@pytest.mark.parametrize(("spec", "parsed"), [("0/1", (0, 1)), ("2/4", (2, 4)), (" 1/2 ", (1, 2))])
def test_parse_shard(spec: str, parsed: tuple[int, int]) -> None:
    assert parse_shard(spec) == parsed


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [("3/2", "below N"), ("2/2", "below N"), ("0/0", "at least 1"), ("1", "expected I/N"), ("a/b", "expected I/N")],
)
def test_parse_shard_refuses(spec: str, fragment: str) -> None:
    with pytest.raises(NCAError, match=fragment):
        parse_shard(spec)


@pytest.mark.parametrize("count", [1, 2, 3, 7, 40])
def test_shards_are_disjoint_and_cover_the_seeds(count: int) -> None:
    seeds = parse_seeds("0-20,100-130:3,5000")
    parts = [shard_seeds(seeds, i, count) for i in range(count)]
    assert sorted(s for part in parts for s in part) == sorted(seeds)
    assert sum(len(p) for p in parts) == len(seeds)
    assert max(len(p) for p in parts) - min(len(p) for p in parts) <= 1


# ---- the rollout ----------------------------------------------------------------------------------------------


def test_batched_rollout_equals_single_rollouts(tiny_onnx: Path) -> None:
    renderer = Renderer(tiny_onnx, provider="cpu", quiet=True)
    batched = renderer.rollout(list(range(8)), steps=40, size=(16, 16))  # (F, 8, H, W, 4)
    states = [s for _, s in roll_out(renderer.session, RenderSpec(seeds=tuple(range(8)), steps=40, size=(16, 16)))]
    for seed in range(8):
        single = renderer.rollout([seed], steps=40, size=(16, 16))
        assert np.array_equal(batched[:, seed], single[:, 0]), seed
        single_states = [s for _, s in roll_out(renderer.session, RenderSpec(seeds=(seed,), steps=40, size=(16, 16)))]
        assert all(np.array_equal(b[seed], s[0]) for b, s in zip(states, single_states, strict=True)), seed
    assert len({batched[-1, i].tobytes() for i in range(8)}) == 8  # the seeds differ


def test_batch_outputs_equal_single_renders_byte_for_byte(tiny_onnx: Path, tmp_path: Path) -> None:
    """Every format with its command's defaults: the same bytes as `ncarender FORMAT --seed N`."""
    out = tmp_path / "batch"
    code, _, err = run("batch", out, "--seeds", "0-2", "--format", "gif,mp4,sheet,frames", "--model", tiny_onnx, *SMALL)
    assert code == 0, err
    single = tmp_path / "single"
    single.mkdir()
    for fmt, name in [("gif", "seed-0002.gif"), ("mp4", "seed-0002.mp4"), ("sheet", "seed-0002.png")]:
        code, _, err = run(fmt, single / name, "--seed", "2", "--model", tiny_onnx, "--size", "16", "--steps", "10")
        assert code == 0, err
        assert (single / name).read_bytes() == (out / name).read_bytes(), fmt
    atlas = json.loads((out / "seed-0002.json").read_text())
    assert atlas == json.loads((single / "seed-0002.json").read_text())
    code, _, err = run("frames", single / "f", "--seed", "2", "--model", tiny_onnx, "--size", "16", "--steps", "10")
    assert code == 0, err
    assert outputs(single / "f") == outputs(out / "seed-0002-frames")


def test_manifest_records_and_json_stream(tiny_onnx: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    code, stdout, err = run(
        "batch", out, "--seeds", "3,1", "--format", "gif,sheet", "--model", tiny_onnx, "--json", *SMALL
    )
    assert code == 0, err
    records = read_manifest(out / MANIFEST_NAME)
    assert [json.loads(line) for line in stdout.splitlines()] == records
    assert sorted((r["seed"], r["format"]) for r in records) == [(1, "gif"), (1, "sheet"), (3, "gif"), (3, "sheet")]
    model_sha = sha(tiny_onnx)
    for record in records:
        path = out / str(record["path"])
        assert record["status"] == "ok" and record["model_sha256"] == model_sha
        assert record["sha256"] == sha(path) and record["bytes"] == path.stat().st_size
        assert record["frames"] and record["width"] and record["height"] and float(str(record["seconds"])) > 0
        options = record["options"]
        assert isinstance(options, dict)
        assert options["steps"] == 10 and options["grid"] == [16, 16]
        assert options["scale"] == (2 if record["format"] == "sheet" else 4)
    with Image.open(out / "seed-0003.gif") as gif:
        assert gif.size == (64, 64)


def test_one_process_pool_render_equals_threads(tiny_onnx: Path, tmp_path: Path) -> None:
    renderer = Renderer(tiny_onnx, provider="cpu", quiet=True)
    results = [
        render_batch(
            renderer, tmp_path / kind, range(4), formats=["gif", "sheet"], steps=8, size=(16, 16), batch_size=2,
            jobs=jobs, executor=kind,
        )
        for kind, jobs in [("thread", 1), ("process", 2)]
    ]  # fmt: skip
    assert all(r.ok and len(r.written) == 8 and r.batch_size == 2 for r in results)
    assert outputs(tmp_path / "thread") == outputs(tmp_path / "process")


# ---- shards and resume ----------------------------------------------------------------------------------------


def test_shards_union_to_the_whole_batch(tiny_onnx: Path, tmp_path: Path) -> None:
    args = ["--seeds", "0-9", "--format", "gif,sheet", "--model", str(tiny_onnx), *SMALL]
    code, _, err = run("batch", tmp_path / "whole", *args)
    assert code == 0, err
    for index in range(3):
        code, _, err = run("batch", tmp_path / "sharded", *args, "--shard", f"{index}/3")
        assert code == 0, err
    whole, sharded = outputs(tmp_path / "whole"), outputs(tmp_path / "sharded")
    assert len(whole) == 30 and whole == sharded  # gif + png + json per seed, byte for byte
    records = [read_manifest(tmp_path / d / MANIFEST_NAME) for d in ("whole", "sharded")]
    assert sorted(map(stable, records[0])) == sorted(map(stable, records[1]))
    # More shards than seeds: the empty ones do nothing and succeed.
    code, _, err = run("batch", tmp_path / "many", *args, "--shard", "11/12")
    assert code == 0, err


def test_resume_skips_complete_outputs_and_redoes_the_rest(tiny_onnx: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    base = ["batch", out, "--model", tiny_onnx, *SMALL]
    assert run(*base, "--seeds", "0-3")[0] == 0
    before = {p.name: p.stat().st_mtime_ns for p in out.glob("seed-*")}
    (out / "seed-0001.gif").write_bytes(b"GIF89a broken")  # not the recorded file any more
    code, stdout, err = run(*base, "--seeds", "0-5", "--resume", "--json")
    assert code == 0, err
    assert sorted(json.loads(line)["seed"] for line in stdout.splitlines()) == [1, 4, 5]
    assert {p.name: p.stat().st_mtime_ns for p in out.glob("seed-000[023].gif")} == {
        k: v for k, v in before.items() if k != "seed-0001.gif"
    }
    records = read_manifest(out / MANIFEST_NAME)
    latest = {r["path"]: r for r in records}
    assert len(latest) == 6 and all(r["sha256"] == sha(out / str(p)) for p, r in latest.items())
    # Other options: nothing matches, everything is rendered again.
    code, stdout, err = run(*base, "--seeds", "0-5", "--resume", "--json", "--fps", "10")
    assert code == 0, err
    assert len(stdout.splitlines()) == 6
    # All done: nothing to do.
    code, stdout, err = run(*base, "--seeds", "0-5", "--resume", "--json", "--fps", "10")
    assert code == 0 and stdout == "", err


def _batch_process(out: Path, model: Path, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "ncarender", "batch", str(out), "--model", str(model), "-q", *extra],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        preexec_fn=ctrl_c_ready,
    )


def _wait_for_a_record(out: Path, proc: subprocess.Popen[str]) -> None:
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        manifest = out / MANIFEST_NAME
        if manifest.exists() and manifest.read_bytes().count(b"\n") >= 1:
            return
        time.sleep(0.01)
    raise AssertionError(f"no manifest line while the batch ran (exit {proc.poll()})")


@pytest.mark.parametrize(("sig", "jobs"), [(signal.SIGINT, "2"), (signal.SIGKILL, "1")], ids=["sigint", "sigkill"])
def test_interrupted_batch_resumes_without_redoing_finished_seeds(
    tiny_onnx: Path, tmp_path: Path, sig: signal.Signals, jobs: str
) -> None:
    out = tmp_path / "out"
    work = ["--seeds", "0-23", "--size", "24", "--steps", "80", "--batch-size", "2"]
    proc = _batch_process(out, tiny_onnx, *work, "--jobs", jobs)
    _wait_for_a_record(out, proc)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=120)
    if sig == signal.SIGINT:
        assert proc.returncode == 130, err
        assert "interrupted" in err and "--resume" in err and "Traceback" not in err
        assert not [p.name for p in out.iterdir() if p.name.startswith(".")]  # no partial file
    else:
        assert proc.returncode == -signal.SIGKILL
    records = read_manifest(out / MANIFEST_NAME)  # every line whole
    assert 0 < len(records) < 24
    finished = {str(r["path"]): (sha(out / str(r["path"])), (out / str(r["path"])).stat().st_mtime_ns) for r in records}
    assert all(finished[str(r["path"])][0] == r["sha256"] for r in records)

    code, _, err = run("batch", out, "--model", tiny_onnx, *work, "--jobs", "1", "--resume", "-q")
    assert code == 0, err
    assert {p: (sha(out / p), (out / p).stat().st_mtime_ns) for p in finished} == finished  # untouched
    records = read_manifest(out / MANIFEST_NAME)
    assert sorted(str(r["path"]) for r in records) == [f"seed-{s:04d}.gif" for s in range(24)]  # none twice
    assert all(r["sha256"] == sha(out / str(r["path"])) for r in records)
    assert sorted(p.name for p in out.iterdir()) == sorted([MANIFEST_NAME, *(f"seed-{s:04d}.gif" for s in range(24))])


# ---- failures -------------------------------------------------------------------------------------------------


def _mask_counts(seed: int, steps: int, grid: int = 16) -> list[int]:
    """Cells firing at each step for ``seed`` (the runtime's masks: one float32 draw per step, < 0.5)."""
    rng = np.random.default_rng(seed)
    return [int((rng.random((grid, grid), dtype=np.float32) < np.float32(0.5)).sum()) for _ in range(steps)]


def _blowup_model(path: Path, threshold: float) -> None:
    """A contract model that goes NaN in a step where fewer than ``threshold`` cells fire: log(count - threshold)."""
    state = helper.make_tensor_value_info("state", TensorProto.FLOAT, ["N", 16, "H", "W"])
    mask = helper.make_tensor_value_info("mask", TensorProto.FLOAT, ["N", 1, "H", "W"])
    out = helper.make_tensor_value_info("next_state", TensorProto.FLOAT, ["N", 16, "H", "W"])
    axes = helper.make_tensor("axes", TensorProto.INT64, [3], [1, 2, 3])
    limit = helper.make_tensor("limit", TensorProto.FLOAT, [], [threshold])
    nodes = [
        helper.make_node("ReduceSum", ["mask", "axes"], ["count"], keepdims=1),
        helper.make_node("Sub", ["count", "limit"], ["excess"]),
        helper.make_node("Log", ["excess"], ["log"]),
        helper.make_node("Add", ["state", "log"], ["next_state"]),
    ]
    graph = helper.make_graph(nodes, "blowup", [state, mask], [out], initializer=[axes, limit])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))


@pytest.fixture
def blowup(tmp_path: Path) -> tuple[Path, int]:
    """A model under which exactly one of seeds 0-7 goes NaN within 4 steps; returns it and that seed."""
    lows = sorted((min(_mask_counts(seed, 4)), seed) for seed in range(8))
    assert lows[0][0] < lows[1][0]
    path = tmp_path / "blowup.onnx"
    _blowup_model(path, (lows[0][0] + lows[1][0]) / 2)
    return path, lows[0][1]


def test_a_failing_seed_does_not_stop_the_others(blowup: tuple[Path, int], tmp_path: Path) -> None:
    model, bad = blowup
    out = tmp_path / "out"
    code, stdout, err = run(
        "batch", out, "--seeds", "0-7", "--model", model, "--size", "16", "--steps", "4", "--jobs", "1", "-q", "--json"
    )
    assert code == 1, err
    assert f"seed {bad} failed: the state became non-finite" in err
    assert err.strip().splitlines()[-1] == f"Error: 1 of 8 seed(s) failed: {bad}"
    assert "Traceback" not in err
    lines = [json.loads(line) for line in stdout.splitlines()]
    assert [r["seed"] for r in lines if r["status"] == "failed"] == [bad]
    good = sorted(set(range(8)) - {bad})
    assert sorted(r["seed"] for r in read_manifest(out / MANIFEST_NAME)) == good
    assert sorted(p.name for p in out.glob("seed-*")) == [f"seed-{s:04d}.gif" for s in good]
    # The others are exactly their single renders.
    seed = good[0]
    code, _, err = run("gif", tmp_path / "one.gif", "--seed", seed, "--model", model, "--size", "16", "--steps", "4")
    assert code == 0, err
    assert (tmp_path / "one.gif").read_bytes() == (out / f"seed-{seed:04d}.gif").read_bytes()
    # A single render of the bad seed fails as before.
    code, _, err = run("gif", tmp_path / "bad.gif", "--seed", bad, "--model", model, "--size", "16", "--steps", "4")
    assert code == 1 and "non-finite" in err and not (tmp_path / "bad.gif").exists()


def test_rollout_reports_failed_samples_and_keeps_the_others(blowup: tuple[Path, int]) -> None:
    model, bad = blowup
    renderer = Renderer(model, provider="cpu", quiet=True)
    failed: dict[int, int] = {}
    spec = RenderSpec(seeds=tuple(range(8)), steps=4, size=(16, 16))
    states = [s for _, s in roll_out(renderer.session, spec, failed=failed)]
    assert list(failed) == [bad] and 1 <= failed[bad] <= 4
    assert all(np.isfinite(s).all() for s in states)
    alone = [s for _, s in roll_out(renderer.session, RenderSpec(seeds=((bad + 1) % 8,), steps=4, size=(16, 16)))]
    assert all(np.array_equal(b[(bad + 1) % 8], a[0]) for b, a in zip(states, alone, strict=True))


def test_disk_full_part_way_stops_with_the_finished_outputs_recorded(
    tiny_onnx: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = encoders_module.write_output

    def write_until_full(*args: object, **kwargs: object) -> dict[str, object]:
        # The disk fills from seed 2 on: by seed, not by call order, since the encoders run side by side
        # and a later seed's encode may start before seed 2's fails.
        if Path(str(args[1])).name >= "seed-0002":
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(encoders_module, "write_output", write_until_full)
    out = tmp_path / "out"
    code, stdout, err = run("batch", out, "--seeds", "0-5", "--model", tiny_onnx, "--batch-size", "1", *SMALL)
    assert_error(code, stdout, err, "No space left on device")
    assert "stopped after 2 output(s)" in err
    records = read_manifest(out / MANIFEST_NAME)
    assert [r["seed"] for r in records] == [0, 1]
    assert all(r["sha256"] == sha(out / str(r["path"])) for r in records)
    assert sorted(p.name for p in out.iterdir()) == [MANIFEST_NAME, "seed-0000.gif", "seed-0001.gif"]


def test_a_manifest_write_that_fails_is_rolled_back(
    tiny_onnx: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = manifest_module._write_all
    calls = []

    def half_then_full(fd: int, data: bytes) -> None:
        calls.append(data)
        if len(calls) == 2:
            os.write(fd, data[: len(data) // 2])
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real(fd, data)

    monkeypatch.setattr(manifest_module, "_write_all", half_then_full)
    out = tmp_path / "out"
    code, stdout, err = run("batch", out, "--seeds", "0-3", "--model", tiny_onnx, "--batch-size", "1", *SMALL)
    assert_error(code, stdout, err, "cannot write the manifest")
    text = (out / MANIFEST_NAME).read_text()
    seeds = [json.loads(line)["seed"] for line in text.splitlines()]  # whole lines only
    assert text.endswith("\n") and seeds[0] == 0 and 1 not in seeds  # later finished outputs may follow


def test_manifest_reader_and_writer_tolerate_a_torn_last_line(tmp_path: Path) -> None:
    path = tmp_path / MANIFEST_NAME
    path.write_text('{"seed": 1}\n{"seed": 2}\n{"seed": 3, "pa')
    assert read_manifest(path) == [{"seed": 1}, {"seed": 2}]
    Manifest(path).append({"seed": 4})
    assert path.read_text() == '{"seed": 1}\n{"seed": 2}\n{"seed": 4}\n'
    path.write_text('{"seed": 1}\nnot json\n{"seed": 2}\n')
    with pytest.raises(NCAError, match="line 2 is not a JSON object"):
        read_manifest(path)
    assert read_manifest(tmp_path / "missing.jsonl") == []


# ---- bad input ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        (["--seeds", "5-1"], "ends before it starts"),
        (["--seeds", "a-b"], "cannot read 'a-b'"),
        (["--seeds", ""], "--seeds is empty"),
        (["--seeds", "0-20000"], "--force"),
        (["--seeds", "0-3", "--shard", "3/2"], "below N"),
        (["--seeds", "0-3", "--shard", "0/0"], "at least 1"),
        (["--seeds", "0-3", "--format", "gif,webm"], "unknown format 'webm'"),
        (["--seeds", "0-3", "--format", ""], "--format is empty"),
        (["--seeds", "0-3", "--jobs", "0"], "--jobs must be a whole number from 1 to 1,024, got 0"),
        (["--seeds", "0-3", "--batch-size", "0"], "--batch-size must be a whole number from 1"),
        (["--seeds", "0-3", "--steps", "0"], "--steps must be a whole number from 1"),
        (["--seeds", "0-3", "--format", "mp4", "-b", "transparent"], "no alpha channel"),
        (["--seeds", "0-3", "--format", "sheet", "--frames", "99"], "sheet-frames is 99"),
        (["--seeds", "0-3", "--scale", "0"], "scale must be"),
    ],
)
def test_bad_batch_input(tiny_onnx: Path, tmp_path: Path, extra: list[str], fragment: str) -> None:
    out = tmp_path / "out"
    code, stdout, err = run("batch", out, "--model", tiny_onnx, "--size", "16", "--steps", "5", "-q", *extra)
    assert_error(code, stdout, err, fragment)
    assert not out.exists() or not list(out.iterdir())


def test_outdir_that_is_a_file(tiny_onnx: Path, tmp_path: Path) -> None:
    target = tmp_path / "taken"
    target.write_bytes(b"keep")
    code, stdout, err = run("batch", target, "--seeds", "0-1", "--model", tiny_onnx, *SMALL)
    assert_error(code, stdout, err, "is a file")
    assert target.read_bytes() == b"keep"


# ---- the gallery ----------------------------------------------------------------------------------------------


def test_gallery_shows_each_seed_at_the_chosen_step(tiny_onnx: Path, tmp_path: Path) -> None:
    renderer = Renderer(tiny_onnx, provider="cpu", quiet=True)
    frames = renderer.rollout([0, 1, 2, 3, 4], steps=10, size=(16, 16), background="white")  # (11, 5, 16, 16, 4)
    for at, expected in [(None, frames[-1]), ("6", frames[6])]:
        path = tmp_path / f"gallery-{at}.png"
        step = ["--at", at] if at else []
        code, stdout, err = run(
            "sheet", path, "--seeds", "0-4", "--model", tiny_onnx, "--size", "16", "--steps", "10", "--scale", "2",
            "-b", "white", "--columns", "3", "--json", "-q", *step,
        )  # fmt: skip
        assert code == 0, err
        summary = json.loads(stdout)
        assert summary["columns"] == 3 and summary["rows"] == 2 and summary["seeds"] == [0, 1, 2, 3, 4]
        cell_w, cell_h = int(summary["cell_width"]), int(summary["cell_height"])
        with Image.open(path) as image:
            pixels = np.asarray(image.convert("RGBA"))
        assert pixels.shape == (2 * cell_h, 3 * cell_w, 4)
        for n in range(5):
            x = (n % 3) * cell_w + (cell_w - 32) // 2
            y = (n // 3) * cell_h
            tile = expected[n].repeat(2, axis=0).repeat(2, axis=1)
            assert np.array_equal(pixels[y : y + 32, x : x + 32], tile), (at, n)
            label = pixels[y + 32 : y + cell_h, (n % 3) * cell_w : (n % 3 + 1) * cell_w, :3]
            assert (label < 100).any()  # the seed number, in dark ink


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        (["--seeds", "0-3", "--at", "11"], "--at must be from 0 to --steps"),
        (["--seeds", "0-3", "--frames", "4"], "--frames is for a sprite sheet"),
        (["--seeds", "3-1"], "ends before it starts"),
        (["--at", "3"], "--at goes with --seeds"),
    ],
)
def test_bad_gallery_input(tiny_onnx: Path, tmp_path: Path, extra: list[str], fragment: str) -> None:
    path = tmp_path / "g.png"
    code, stdout, err = run("sheet", path, "--model", tiny_onnx, "--size", "16", "--steps", "10", "-q", *extra)
    assert_error(code, stdout, err, fragment)
    assert not path.exists()
