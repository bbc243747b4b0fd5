"""The sprite sheet and its JSON atlas in real game engines: PixiJS 8 and Phaser 3 in headless Chromium.

The sheet is written by the CLI (``ncarender sheet grow.png``), served with the engines' own builds over
``http://127.0.0.1:<free port>`` (a loopback server in this process; a page on ``file://`` cannot fetch
its atlas), and loaded as a game would: PixiJS ``Assets.load`` (a ``Spritesheet``), Phaser ``load.atlas``.

The engines come from the npm registry, installed once into ``NCARENDER_ENGINES`` (default
``/tmp/ncarender-engines``; ``.ci/run`` does it): ``npm install --prefix DIR pixi.js@8 phaser@3``.
Without them the tests skip, except under ``CI=true``, where they fail.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from browser import chromium, unavailable
from typer.testing import CliRunner

from ncarender.cli import app

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext

ENGINES = Path(os.environ.get("NCARENDER_ENGINES", "/tmp/ncarender-engines"))
#: Every test here loads the atlas in Chromium.
pytestmark = pytest.mark.browser

#: The engines' browser builds, as npm installs them, and the name each is served under.
BUILDS = {
    "pixi.js": ENGINES / "node_modules" / "pixi.js" / "dist" / "pixi.min.js",
    "phaser.js": ENGINES / "node_modules" / "phaser" / "dist" / "phaser.min.js",
}
STEM = "grow"  # the sheet is grow.png + grow.json; its animation is named after the PNG: "grow"
FRAMES = 8

PIXI_PAGE = """<!doctype html><meta charset="utf-8"><title>pixi</title>
<script src="pixi.js"></script>
<script>
(async () => {
  try {
    const sheet = await PIXI.Assets.load("STEM.json");
    const names = new Map(Object.entries(sheet.textures).map(([name, tex]) => [tex, name]));
    const frames = {};
    for (const [name, tex] of Object.entries(sheet.textures))
      frames[name] = { x: tex.frame.x, y: tex.frame.y, w: tex.frame.width, h: tex.frame.height,
                       sw: tex.orig.width, sh: tex.orig.height };
    const animations = {};
    for (const [name, list] of Object.entries(sheet.animations))
      animations[name] = list.map((tex) => (names.has(tex) ? names.get(tex) : null));
    const playable = Object.values(sheet.animations)
      .every((list) => new PIXI.AnimatedSprite(list).totalFrames === list.length);
    window.result = { version: PIXI.VERSION, frames, animations, playable,
                      image: { w: sheet.textureSource.width, h: sheet.textureSource.height } };
  } catch (e) { window.result = { error: String((e && e.stack) || e) }; }
})();
</script>
""".replace("STEM", STEM)

PHASER_PAGE = """<!doctype html><meta charset="utf-8"><title>phaser</title>
<script src="phaser.js"></script>
<script>
window.addEventListener("error", (e) => { window.result = { error: String(e.message) }; });
new Phaser.Game({
  type: Phaser.HEADLESS, width: 64, height: 64, banner: false, audio: { noAudio: true },
  scene: {
    preload() {
      this.load.on("loaderror", (file) => { window.result = { error: `could not load ${file.src}` }; });
      this.load.atlas("STEM", "STEM.png", "STEM.json");
    },
    create() {
      const texture = this.textures.get("STEM"), frames = {};
      for (const name of texture.getFrameNames()) {
        const f = texture.get(name);
        frames[name] = { x: f.cutX, y: f.cutY, w: f.cutWidth, h: f.cutHeight, sw: f.realWidth, sh: f.realHeight };
      }
      const image = texture.getSourceImage();
      window.result = { version: Phaser.VERSION, key: texture.key, frames, image: { w: image.width, h: image.height } };
    },
  },
});
</script>
""".replace("STEM", STEM)


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def sheet(tiny_onnx: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``grow.png`` + ``grow.json`` from the CLI (20 steps, 8 frames of the tiny model), in a folder to serve."""
    root = tmp_path_factory.mktemp("engines")
    out = root / f"{STEM}.png"
    args = ["sheet", str(out), "--steps", "20", "--frames", str(FRAMES), "--model", str(tiny_onnx), "--quiet"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="module")
def atlas(sheet: Path) -> dict[str, dict[str, object]]:
    loaded: dict[str, dict[str, object]] = json.loads(sheet.with_suffix(".json").read_text(encoding="utf-8"))
    return loaded


@pytest.fixture(scope="session")  # session: set up before the session's tiny model, so a skip costs nothing
def builds() -> dict[str, Path]:
    """The engines' builds; skip (fail under ``CI=true``) before any work when they are not installed."""
    missing = [str(path) for path in BUILDS.values() if not path.is_file()]
    if missing:
        unavailable(f"PixiJS/Phaser not installed (npm install --prefix {ENGINES} pixi.js@8 phaser@3): {missing[0]}")
    return BUILDS


@pytest.fixture(scope="module")
def origin(builds: dict[str, Path], sheet: Path) -> Iterator[str]:
    """A loopback HTTP server for the sheet's folder, with the engines' builds and a test page for each."""
    root = sheet.parent
    for name, path in builds.items():
        shutil.copyfile(path, root / name)
    (root / "pixi.html").write_text(PIXI_PAGE, encoding="utf-8")
    (root / "phaser.html").write_text(PHASER_PAGE, encoding="utf-8")
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Quiet, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture(scope="module")
def browser() -> Iterator[BrowserContext]:
    with chromium() as context:
        yield context


def load(browser: BrowserContext, origin: str, engine: str) -> dict[str, object]:
    """Open ``engine``'s test page and return what it read from the sheet; nothing leaves the loopback server."""
    tab = browser.new_page()
    elsewhere: list[str] = []
    tab.on("request", lambda r: None if r.url.startswith((origin, "blob:", "data:")) else elsewhere.append(r.url))
    try:
        tab.goto(f"{origin}/{engine}.html")
        tab.wait_for_function("() => window.result !== undefined", timeout=20_000)
        result: dict[str, object] = tab.evaluate("() => window.result")
    finally:
        tab.close()
    assert "error" not in result, result["error"]
    assert not elsewhere, elsewhere
    return result


@pytest.fixture(scope="module")
def pixi(origin: str, browser: BrowserContext) -> dict[str, object]:
    result = load(browser, origin, "pixi")
    assert str(result["version"]).startswith("8.")
    return result


@pytest.fixture(scope="module")
def phaser(origin: str, browser: BrowserContext) -> dict[str, object]:
    result = load(browser, origin, "phaser")
    assert str(result["version"]).startswith("3.")
    return result


def expected_frames(atlas: dict[str, dict[str, object]]) -> dict[str, dict[str, int]]:
    """Each atlas frame's rectangle on the sheet and its source size, as the engines report them."""
    out = {}
    for name, entry in atlas["frames"].items():
        assert isinstance(entry, dict)
        rect, size = entry["frame"], entry["sourceSize"]
        out[name] = {"x": rect["x"], "y": rect["y"], "w": rect["w"], "h": rect["h"], "sw": size["w"], "sh": size["h"]}
    return out


def test_pixi_loads_every_frame(pixi: dict[str, object], atlas: dict[str, dict[str, object]]) -> None:
    """PixiJS 8: ``Assets.load`` gives a Spritesheet with every frame of the atlas, at its place and size."""
    frames = expected_frames(atlas)
    assert len(frames) == FRAMES
    assert pixi["frames"] == frames
    assert pixi["image"] == atlas["meta"]["size"]


def test_pixi_animations(pixi: dict[str, object], atlas: dict[str, dict[str, object]]) -> None:
    """PixiJS 8: ``sheet.animations["grow"]`` is every frame in order (the atlas's TexturePacker ``animations``).

    Waits on the atlas: ``"animations": {"<PNG stem>": ["frame-0000", ..., "frame-0007"]}`` at the top level.
    """
    names = list(atlas["frames"])
    assert atlas.get("animations") == {STEM: names}
    assert pixi["animations"] == {STEM: names}
    assert pixi["playable"] is True  # an AnimatedSprite takes the list as it is


def test_phaser_loads_every_frame(phaser: dict[str, object], atlas: dict[str, dict[str, object]]) -> None:
    """Phaser 3: ``load.atlas`` (JSON hash) gives a texture whose frame names and sizes are the atlas's."""
    assert phaser["key"] == STEM
    assert phaser["frames"] == expected_frames(atlas)
    assert phaser["image"] == atlas["meta"]["size"]
