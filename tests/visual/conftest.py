"""Screenshots of our HTML in Debian's headless Chromium, driven by Playwright (no browser
download: ``executable_path``), kept as test artifacts for people to look at.

``screenshot(html, name, width)`` loads ``html`` in a fresh page ``width`` CSS pixels wide (device
scale 1), saves a full-page screenshot as ``<dir>/<name>-<width>px.png`` and returns its path;
``<dir>`` is ``$PLANERKA_ARTIFACTS/screenshots`` when that is set, else ``.artifacts/screenshots``
in the checkout. What the page looked like to the browser is then in ``screenshot.facts``
(:class:`PageFacts`): each image's natural and laid-out size, the page's scroll width, and how
much of the screenshot is not the background.

Without /usr/bin/chromium the tests are skipped, saying so (under ``CI`` they fail instead: CI
installs the Debian package, see .ci/run, and a silent skip there would hide a broken page).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
ROOT = Path(__file__).resolve().parents[2]
VIEWPORT_HEIGHT = 800

# Every <img> as laid out, and whether the page scrolls sideways.
_MEASURE = """() => ({
  viewportWidth: document.documentElement.clientWidth,
  scrollWidth: document.documentElement.scrollWidth,
  images: Array.from(document.images).map(img => {
    const box = img.getBoundingClientRect();
    return {complete: img.complete, naturalWidth: img.naturalWidth,
            naturalHeight: img.naturalHeight, left: box.left, right: box.right,
            width: box.width, height: box.height};
  }),
})"""


def screenshot_dir() -> Path:
    root = os.environ.get("PLANERKA_ARTIFACTS")
    return (Path(root) if root else ROOT / ".artifacts") / "screenshots"


@dataclass(frozen=True)
class ImageFacts:
    complete: bool
    natural_width: int
    natural_height: int
    left: float
    right: float
    width: float
    height: float


@dataclass(frozen=True)
class PageFacts:
    viewport_width: int
    scroll_width: int
    images: list[ImageFacts]
    ink: float  # share of the screenshot's pixels that differ from its top-left pixel


class Screenshots:
    """The ``screenshot`` fixture: call it; then read ``facts`` of the last page."""

    def __init__(self, browser: Browser, directory: Path) -> None:
        self._browser = browser
        self.directory = directory
        self.facts: PageFacts | None = None

    def __call__(self, html: str, name: str, width: int) -> Path:
        page = self._browser.new_page(viewport={"width": width, "height": VIEWPORT_HEIGHT},
                                      device_scale_factor=1)
        try:
            page.set_content(html, wait_until="load")
            measured: dict[str, Any] = page.evaluate(_MEASURE)
            path = self.directory / f"{name}-{width}px.png"
            page.screenshot(path=str(path), full_page=True)
        finally:
            page.close()
        self.facts = PageFacts(
            viewport_width=measured["viewportWidth"],
            scroll_width=measured["scrollWidth"],
            images=[ImageFacts(i["complete"], i["naturalWidth"], i["naturalHeight"], i["left"],
                               i["right"], i["width"], i["height"])
                    for i in measured["images"]],
            ink=_ink(path),
        )
        return path


def _ink(path: Path) -> float:
    from PIL import Image, ImageChops

    with Image.open(path) as shot:
        rgb = shot.convert("RGB")
        background = Image.new("RGB", rgb.size, rgb.getpixel((0, 0)))
        differs = ImageChops.difference(rgb, background).convert("L").point(
            lambda v: 255 if v > 8 else 0)
        histogram = differs.histogram()
        return histogram[255] / (rgb.width * rgb.height)


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (required when CI is set)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists() or shutil.which(str(CHROMIUM)) is None:
        _unavailable(f"{CHROMIUM} is not installed (Debian package 'chromium'): "
                     "no screenshots")
    from playwright.sync_api import sync_playwright  # a test dependency: missing is an error

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def screenshot(browser: Browser) -> Screenshots:
    directory = screenshot_dir()
    directory.mkdir(parents=True, exist_ok=True)
    return Screenshots(browser, directory)
