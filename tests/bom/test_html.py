"""The HTML report: self-contained, and readable when headless Chromium renders it."""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest

from supplychain.bom import build_bom, inspect_bom, write_cyclonedx
from supplychain.bom.html import render_html
from tests.bom.repos import CARD, hf_cache_repo, hf_repo, repo_files

WIDTH, HEIGHT = 1280, 1600
HEADER_RGB = (0x1F, 0x31, 0x47)


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The HTML report of a cached model with a licence conflict, a pickle and remote code."""
    tmp = tmp_path_factory.mktemp("html")
    card = CARD.replace(
        "license: other\nlicense_name: acme-model-license\n"
        "license_link: https://acme.example/model-license\n",
        "license: apache-2.0\n",
    )
    files = repo_files(hf_repo(tmp / "src", card=card))
    snapshot = hf_cache_repo(
        tmp / "hub", "acme/acme-chat", files, revision="f" * 40, lfs=("model.safetensors",)
    )
    bom_file = tmp / "bom.cdx.json"
    write_cyclonedx(build_bom(snapshot), bom_file, "1.7")
    html = tmp / "report.html"
    html.write_text(render_html(inspect_bom(bom_file)), encoding="utf-8")
    return html


def test_report_is_self_contained(report: Path) -> None:
    text = report.read_text()

    assert text.startswith("<!DOCTYPE html>")
    assert "<script" not in text
    assert "<link" not in text
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", text)
    assert "url(" not in text  # no fonts or images from anywhere


def test_report_escapes_what_the_model_says(tmp_path: Path) -> None:
    repo = hf_repo(
        tmp_path / "m", card="---\nlicense: other\nlicense_name: <script>alert(1)</script>\n---\n"
    )
    bom_file = tmp_path / "bom.json"
    write_cyclonedx(build_bom(repo), bom_file)

    text = render_html(inspect_bom(bom_file))

    assert "<script>" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text


def chromium() -> str:
    binary = (
        shutil.which("chromium")
        or shutil.which("chromium-browser")
        or shutil.which("google-chrome")  # what GitHub's Ubuntu runners ship
    )
    if binary is None:
        pytest.skip("chromium is not installed (Debian: apt-get install -y chromium)")
    return binary


def run_chromium(binary: str, profile: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    command = [
        binary,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={profile}",
        *args,
    ]
    return subprocess.run(command, capture_output=True, timeout=180, check=False)


def read_png(path: Path) -> tuple[int, int, list[bytes]]:
    """(width, height, rows of RGB(A) bytes) of an 8-bit RGB or RGBA PNG, unfiltered."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width = 8, b"", 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        chunk = data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, color = struct.unpack(">IIBB", chunk[:10])
            assert depth == 8 and color in (2, 6), (depth, color)
            channels = 3 if color == 2 else 4
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * channels
    rows: list[bytes] = []
    previous = bytearray(stride)
    for y in range(height):
        kind, line = (
            raw[y * (stride + 1)],
            bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)]),
        )
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up, corner = previous[i], previous[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                pred = left if pa <= pb and pa <= pc else (up if pb <= pc else corner)
                line[i] = (line[i] + pred) & 0xFF
        rows.append(bytes(line))
        previous = line
    return width, height, [bytes(r[i] for i in range(len(r)) if i % channels < 3) for r in rows]


def test_chromium_renders_a_readable_summary(report: Path, tmp_path: Path) -> None:
    binary = chromium()
    url = report.as_uri()

    dom = run_chromium(binary, tmp_path / "profile-dom", "--dump-dom", url)
    assert dom.returncode == 0, dom.stderr[-2000:]
    text = dom.stdout.decode("utf-8")
    for expected in (
        "AI-BOM: acme/acme-chat @ " + "f" * 40,
        "open-weights-restricted",
        "Completeness",
        "license.relaxes-ancestor",
        "format.code-execution-capable",
        "acme/support-tickets",
        "meta-llama/Meta-Llama-3-8B",
        "model.safetensors",
    ):
        assert expected in text, expected

    png = tmp_path / "report.png"
    shot = run_chromium(
        binary,
        tmp_path / "profile-shot",
        "--hide-scrollbars",
        f"--window-size={WIDTH},{HEIGHT}",
        f"--screenshot={png}",
        url,
    )
    assert shot.returncode == 0, shot.stderr[-2000:]
    width, height, rows = read_png(png)
    assert (width, height) == (WIDTH, HEIGHT)
    # The dark header band is drawn across the top (above the title's text)...
    header = rows[8]
    assert header[3 * 600 : 3 * 600 + 3] == bytes(HEADER_RGB)
    # ...and the page below it is text and tables, not an empty canvas.
    colours = {row[i : i + 3] for row in rows[100::7] for i in range(0, len(row), 3 * 5)}
    assert len(colours) > 50
    ink = sum(
        1 for row in rows[100::7] for i in range(0, len(row), 3 * 5) if max(row[i : i + 3]) < 128
    )
    assert ink > 500
