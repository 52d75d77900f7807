"""Headless Chromium for layout tests: how wide a page lays out at a given width, and what it
looks like (a decoded screenshot).

Chromium's headless window is never narrower than 500 px, so the page is shown in a `srcdoc`
iframe of the wanted width inside a wrapper page; the iframe is the page's viewport (its
`width=device-width` is the iframe's width), and being same-origin its layout can be read.
"""

from __future__ import annotations

import html
import json
import re
import shutil
import struct
import subprocess
import zlib
from dataclasses import dataclass
from pathlib import Path

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--hide-scrollbars",
    "--force-device-scale-factor=1",
    "--no-first-run",
    "--disable-extensions",
    "--virtual-time-budget=5000",
]
_WRAPPER = """<!DOCTYPE html>
<html><head><meta charset="utf-8"></head>
<body style="margin:0;background:#ffffff;">
<iframe id="page" style="border:0;display:block;width:{width}px;height:{height}px;"
 srcdoc="{srcdoc}"></iframe>
<script>
function measure() {{
  var d = document.getElementById("page").contentDocument;
  var root = d.documentElement;
  document.body.setAttribute("data-metrics", JSON.stringify({{
    scrollWidth: root.scrollWidth, clientWidth: root.clientWidth,
    scrollHeight: root.scrollHeight, textLength: d.body.innerText.length
  }}));
}}
// The outer page's load event waits for the iframe's document to load.
window.addEventListener("load", measure);
</script>
</body></html>
"""


def find_chromium() -> str | None:
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


@dataclass(frozen=True)
class Layout:
    scroll_width: int
    client_width: int
    scroll_height: int
    text_length: int


@dataclass(frozen=True)
class Screenshot:
    width: int
    height: int
    rows: list[bytes]  # RGB, 3 bytes per pixel
    channels: int

    def pixel(self, x: int, y: int) -> tuple[int, ...]:
        start = x * self.channels
        return tuple(self.rows[y][start : start + 3])

    def ink_fraction(self, x0: int, x1: int) -> float:
        """The share of pixels in columns [x0, x1) that differ from the most common colour."""
        counts: dict[tuple[int, ...], int] = {}
        for y in range(self.height):
            for x in range(x0, x1):
                key = self.pixel(x, y)
                counts[key] = counts.get(key, 0) + 1
        total = sum(counts.values())
        return 1.0 - max(counts.values()) / total if total else 0.0

    def colours(self, x0: int, x1: int) -> int:
        return len({self.pixel(x, y) for y in range(self.height) for x in range(x0, x1)})


def _wrapper(page_html: str, width: int, height: int) -> str:
    return _WRAPPER.format(width=width, height=height, srcdoc=html.escape(page_html, quote=True))


def measure_layout(chromium: str, page_html: str, width: int, folder: Path) -> Layout:
    path = folder / f"wrapper-{width}.html"
    path.write_text(_wrapper(page_html, width, 900), encoding="utf-8")
    result = subprocess.run(
        [chromium, *_FLAGS, "--window-size=1200,1000", "--dump-dom", path.as_uri()],
        capture_output=True,
        text=True,
        timeout=90,
    )
    found = re.search(r'data-metrics="([^"]*)"', result.stdout)
    if not found:
        raise AssertionError(f"chromium did not lay the page out: {result.stderr[-500:]}")
    raw = json.loads(html.unescape(found.group(1)))
    return Layout(raw["scrollWidth"], raw["clientWidth"], raw["scrollHeight"], raw["textLength"])


def screenshot(chromium: str, page_html: str, width: int, height: int, folder: Path) -> Screenshot:
    path = folder / f"shot-{width}.html"
    path.write_text(_wrapper(page_html, width, height), encoding="utf-8")
    png = folder / f"shot-{width}.png"
    subprocess.run(
        [
            chromium,
            *_FLAGS,
            f"--window-size={max(width, 600)},{height}",
            f"--screenshot={png}",
            path.as_uri(),
        ],
        capture_output=True,
        timeout=90,
        check=False,
    )
    if not png.exists():
        raise AssertionError("chromium wrote no screenshot")
    return decode_png(png.read_bytes())


def decode_png(data: bytes) -> Screenshot:
    """A minimal PNG reader: 8-bit RGB or RGBA, not interlaced (what Chromium writes)."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    pos, idat, header = 8, b"", b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", header)
    if depth != 8 or colour not in (2, 6) or interlace:
        raise ValueError(f"unsupported PNG: depth {depth}, colour type {colour}")
    channels = 3 if colour == 2 else 4
    stride = width * channels
    raw = zlib.decompress(idat)
    rows: list[bytes] = []
    previous = bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind = raw[start]
        line = bytearray(raw[start + 1 : start + 1 + stride])
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up = previous[i]
            up_left = previous[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - up_left
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - up_left)
                pred = left if pa <= pb and pa <= pc else (up if pb <= pc else up_left)
                line[i] = (line[i] + pred) & 0xFF
        rows.append(bytes(line))
        previous = line
    return Screenshot(width, height, rows, channels)
