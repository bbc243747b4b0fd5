"""A continuous family (reiter:params:N): seeds draw parameters, codes are the parameters, held-out seeds are judged."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pytest

from ncarender.errors import NCAError
from ncarender.family.conditioning import family_targets
from ncarender.family.family import FamilySpec, make_family, parse_family_spec
from ncarender.family.param_family import ParamMap, default_param_map
from ncarender.family.seed_maps import SEED_MAP_PARAMS, ParamsMap
from ncarender.metadata import META, parse_metadata

SPEC = "reiter:params:24@16"


def test_draws_are_repeatable_inside_their_box_and_coded_in_the_unit_cube() -> None:
    pmap = default_param_map()
    first = [pmap.params(i) for i in range(60)]
    assert first == [default_param_map().params(i) for i in range(60)]
    assert len(set(first)) == 60
    assert first != [default_param_map(1).params(i) for i in range(60)]
    for i, p in enumerate(first):
        (a, b, g) = pmap.boxes[i % len(pmap.boxes)]
        assert a[0] <= p.alpha <= a[1] and b[0] <= p.beta <= b[1]
        assert g[0] - 1e-3 <= math.log10(p.gamma) <= g[1] + 1e-3
    codes = pmap.codes(range(60))
    assert codes.shape == (60, 3) and codes.dtype == np.float32
    assert codes.min() >= 0 and codes.max() <= 1 and codes.std(axis=0).min() > 0.1
    assert ParamMap.from_json(json.loads(json.dumps(pmap.to_json()))) == pmap
    with pytest.raises(NCAError, match="malformed"):
        ParamMap.from_json({"boxes": [[[0, 1]]], "lo": [0, 0]})
    with pytest.raises(NCAError, match="hi > lo"):
        ParamMap(pmap.boxes, (0.0, 0.0, 0.0), (1.0, 0.0, 1.0))


def test_spec_and_targets() -> None:
    spec = parse_family_spec(SPEC)
    assert spec == FamilySpec(24, 0, 16, 13, continuous=True) and str(spec) == SPEC
    assert str(parse_family_spec("reiter:params:2000:3")) == "reiter:params:2000:3"
    with pytest.raises(NCAError, match="training draws N must be from 1 to 8192"):
        parse_family_spec("reiter:params:9000")
    fam = make_family(SPEC)
    assert fam.draws == tuple(range(24)) and fam.targets.shape == (24, 4, 16, 16)
    assert fam.params == tuple(default_param_map().params(i) for i in range(24))
    ft = family_targets(SPEC, None)
    assert isinstance(ft.seed_map, ParamsMap) and ft.code_channels == 3
    assert np.array_equal(ft.codes, default_param_map().codes(range(24)))
    assert np.array_equal(ft.targets, fam.targets)
    with pytest.raises(NCAError, match="coded by its 3 parameters"):
        family_targets(SPEC, 8)


@pytest.fixture(scope="module")
def params_model(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A tiny continuous model trained through the CLI, and its export."""
    pytest.importorskip("torch")
    from typer.testing import CliRunner

    from ncarender.cli import app

    out = tmp_path_factory.mktemp("params") / "p.pt"
    args = ["train", SPEC, "-o", str(out), "--hidden", "32", "--pool-size", "24", "--batch-size", "4"]
    args += ["--iterations", "40", "--steps-min", "16", "--steps-max", "24", "--lr-decay-at", "30", "-q"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.stderr
    onnx_path = out.with_suffix(".onnx")
    result = CliRunner().invoke(app, ["export", str(out), "-o", str(onnx_path), "-q"])
    assert result.exit_code == 0, result.stderr
    return out, onnx_path


def test_checkpoint_keeps_the_spec_not_the_targets_and_resumes(params_model: tuple[Path, Path]) -> None:
    import torch
    from typer.testing import CliRunner

    from ncarender.cli import app
    from ncarender.train.checkpoint import load_checkpoint

    pt, _ = params_model
    raw = torch.load(pt, weights_only=True)
    assert "targets" not in raw["family"] and raw["family"]["draws"] == list(range(24))
    ckpt = load_checkpoint(pt)
    assert ckpt.family is not None and not ckpt.family.seed_map.stores_targets
    assert np.array_equal(ckpt.family.targets, make_family(SPEC).targets)
    copy = pt.with_name("again.pt")
    copy.write_bytes(pt.read_bytes())
    result = CliRunner().invoke(app, ["train", "-o", str(copy), "--resume", "--iterations", "42", "-q"])
    assert result.exit_code == 0, result.stderr
    assert load_checkpoint(copy).iterations == 42


def test_every_seed_is_coded_by_its_own_draw(params_model: tuple[Path, Path]) -> None:
    import onnx

    from ncarender.runtime import open_model
    from ncarender.runtime.seeds import flakes_of, states_for_seeds

    _, onnx_path = params_model
    info = open_model(onnx_path, provider="cpu", quiet=True).info
    fam = info.family
    assert fam is not None and isinstance(fam.seed_map, ParamsMap)
    assert fam.seed_map.kind == SEED_MAP_PARAMS and fam.seed_map.training_draws == 24
    assert fam.flakes == 16  # the metadata keeps the first 16 draws' codes, parameters and targets
    targets = fam.targets()
    assert targets is not None and np.abs(targets - make_family(SPEC).targets[:16]).max() < 1 / 255 + 1e-6
    seeds = [0, 5, 23, 24, 1000, 2**40]
    assert flakes_of(info, seeds) == seeds and flakes_of(info, [3], flake=777) == [777]
    x = states_for_seeds(info, seeds, 16, 16)
    assert np.array_equal(x[:, -3:, 8, 8], default_param_map().codes(seeds))
    assert np.array_equal(x[:2, -3:, 8, 8], fam.codes[[0, 5]])  # the same code training gave those draws
    assert len({tuple(c) for c in x[:, -3:, 8, 8]}) == len(seeds)
    # Damaged continuous metadata is refused with one line, never rendered as noise.
    props = {p.key: p.value for p in onnx.load(str(onnx_path)).metadata_props}
    raw = json.loads(props[META.family])
    for key, value, message in (
        ("param_map", None, "parameter map is malformed"),
        ("param_map", {"boxes": [], "lo": [0, 0, 0], "hi": [1, 1, 1]}, "boxes"),
        ("training_draws", None, "training_draws"),
        ("seed_map", "reiter-params-v9", "unknown family seed map"),
    ):
        broken = dict(raw)
        broken[key] = value
        with pytest.raises(NCAError, match=message):
            parse_metadata({**props, META.family: json.dumps(broken)}, source="p.onnx")


def test_cli_renders_seeds_beyond_training_and_eval_judges_held_out(
    params_model: tuple[Path, Path], tmp_path: Path
) -> None:
    from PIL import Image
    from typer.testing import CliRunner

    from ncarender.cli import app

    _, onnx_path = params_model
    runner = CliRunner()
    gifs = []
    for seed in ("30", "31"):
        out = tmp_path / f"s{seed}.gif"
        result = runner.invoke(app, ["gif", str(out), "-m", str(onnx_path), "--steps", "10", "--seed", seed, "-q"])
        assert result.exit_code == 0, result.stderr
        with Image.open(out) as im:
            assert im.n_frames == 11
        gifs.append(out.read_bytes())
    assert gifs[0] != gifs[1]
    result = runner.invoke(app, ["info", str(onnx_path)])
    assert result.exit_code == 0 and "seed N grows the crystal of parameter draw N" in result.stdout
    result = runner.invoke(
        app, ["eval", str(onnx_path), "--num-seeds", "6", "--steps", "20,40", "--regrowth", "2", "--json"]
    )
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["continuous"] and report["held_out_seeds"] == list(range(24, 30))
    assert report["train_seeds"] == list(range(16)) and len(report["mse"]["40"]) == 22
    assert "held-out @40" in result.stderr and "goal: " in result.stderr  # --json: the report on stderr
    assert report["regrowth"]["samples"] == 2
    result = runner.invoke(app, ["eval", str(onnx_path), "--num-seeds", "4", "--steps", "200", "--regrowth", "0"])
    # the report on stdout (eval > report.txt), the floor pass/fail
    assert re.search(r"FAIL  held_out_mse_200_median [0-9.e-]+ <= 0.005", result.stdout), result.stdout


def test_a_page_grows_the_seeds_own_draw(params_model: tuple[Path, Path], tmp_path: Path) -> None:
    import re

    from ncarender.writers.html import PageWriter

    _, onnx_path = params_model
    pmap = default_param_map()
    for seed, flake, first, count in ((3, None, 3, 16), (40, None, 16, 17), (0, 41, 16, 17)):
        result = PageWriter(tmp_path / "p.html", seed=seed, flake=flake).write(onnx_path)
        text = (tmp_path / "p.html").read_text()
        config = json.loads(re.search(r'"codes": ?(\[\[.*?\]\])', text).group(1))  # type: ignore[union-attr]
        assert (result.flake, result.flakes, len(config)) == (first, count, count)
        draw = seed if flake is None else flake
        assert result.draw == draw
        assert np.array_equal(np.float32(config[first]), pmap.codes([draw])[0])
        draws = json.loads(re.search(r'"draws": ?(\[.*?\])', text).group(1))  # type: ignore[union-attr]
        assert draws == list(range(16)) + ([] if draw < 16 else [draw])


@pytest.mark.browser
def test_the_page_names_the_parameter_draw_it_grows(params_model: tuple[Path, Path], tmp_path: Path) -> None:
    """An appended draw is labelled by its draw (40), not by its place in the page's list (16)."""
    from browser import chromium

    from ncarender.writers.html import write_page

    path = write_page(params_model[1], tmp_path / "p.html", seed=40).path
    with chromium() as browser:
        page = browser.new_page()
        page.goto(path.as_uri())
        page.wait_for_function("() => window.ncarender !== undefined")
        assert page.evaluate("() => ncarender.flake") == 16
        label = page.get_by_role("img").get_attribute("aria-label") or ""
        button = page.get_by_role("button", name="Another flake")
        assert "parameter draw 40 (17 of the 17 on this page)" in label and "flake 16" not in label
        assert "parameter draw 40" in (button.get_attribute("title") or "")
        button.click()
        assert page.evaluate("() => ncarender.flake") == 0
        assert "parameter draw 0 (1 of the 17" in (page.get_by_role("img").get_attribute("aria-label") or "")


def test_batch_manifest_records_each_seeds_parameters(params_model: tuple[Path, Path], tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from ncarender.cli import app

    _, onnx_path = params_model
    out = tmp_path / "b"
    args = ["batch", str(out), "-m", str(onnx_path), "--seeds", "29-31", "--steps", "6", "--format", "gif", "-q"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.stderr
    records = [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]
    assert sorted(r["seed"] for r in records) == [29, 30, 31]
    for r in records:
        p = default_param_map().params(r["seed"])
        assert r["flake"] == r["seed"] and r["params"] == {"alpha": p.alpha, "beta": p.beta, "gamma": p.gamma}


def test_the_discrete_evaluation_refuses_a_continuous_family(params_model: tuple[Path, Path]) -> None:
    from ncarender.evaluate.family import evaluate_family
    from ncarender.runtime import open_model

    with pytest.raises(NCAError, match="continuous family: evaluate it with evaluate_params"):
        evaluate_family(open_model(params_model[1], provider="cpu", quiet=True))
