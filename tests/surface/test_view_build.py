"""The viewer that ships in the package is one self-contained HTML file, and it is exactly what its sources build."""

from __future__ import annotations

import json
import re
from pathlib import Path

from view_support import SHIPPED_VIEWER, VIEW_SOURCE, build_view


def test_the_shipped_viewer_is_byte_for_byte_a_fresh_build_of_its_sources(tmp_path: Path) -> None:
    fresh, _ = build_view(tmp_path, host=False)
    assert fresh.read_bytes() == SHIPPED_VIEWER.read_bytes(), (
        "the shipped viewer is stale: run `npm ci && node build.mjs` in view/ and commit the result"
    )


def test_a_second_build_gives_the_same_bytes(tmp_path: Path) -> None:
    first, _ = build_view(tmp_path / "one", host=False)
    second, _ = build_view(tmp_path / "two", host=False)
    assert first.read_bytes() == second.read_bytes()


def test_the_shipped_viewer_references_nothing_on_the_network() -> None:
    html = SHIPPED_VIEWER.read_text(encoding="utf-8")
    scripts = re.findall(r"<script\b[^>]*>(.*?)</script>", html, re.IGNORECASE | re.DOTALL)
    styles = re.findall(r"<style\b[^>]*>(.*?)</style>", html, re.IGNORECASE | re.DOTALL)
    assert len(scripts) == 1, "one inline script"
    assert len(styles) == 1, "one inline stylesheet"
    markup = html.replace(scripts[0], "").replace(styles[0], "")
    for pattern in (r"<script[^>]*\ssrc\s*=", r"<link\b", r"<iframe\b", r"""\s(src|href)\s*=\s*["']?(https?:)?//"""):
        assert re.search(pattern, markup, re.IGNORECASE) is None, f"the markup matches {pattern}"
    for pattern in (r"@import", r"""url\(\s*["']?(https?:)?//"""):
        assert re.search(pattern, styles[0], re.IGNORECASE) is None, f"the stylesheet matches {pattern}"
    # The script is the view and the Apps library: it speaks postMessage only, and no network API appears in it.
    assert "callServerTool" in scripts[0]
    calls = (r"(?<![.\w])fetch\(", r"new XMLHttpRequest", r"new WebSocket", r"new EventSource", r"sendBeacon\(")
    for api in (*calls, r"importScripts\(", r"\bimport\("):
        assert re.search(api, scripts[0]) is None, f"the script uses {api}"


def test_the_view_build_pins_exact_package_versions_and_locks_them() -> None:
    package = json.loads((VIEW_SOURCE / "package.json").read_text(encoding="utf-8"))
    pins: dict[str, str] = {**package.get("dependencies", {}), **package.get("devDependencies", {})}
    assert pins["@modelcontextprotocol/ext-apps"] == "2.0.4"
    assert "esbuild" in pins
    loose = {name: version for name, version in pins.items() if not re.fullmatch(r"\d+\.\d+\.\d+", version)}
    assert loose == {}, "exact versions only"
    lock = json.loads((VIEW_SOURCE / "package-lock.json").read_text(encoding="utf-8"))
    assert lock["packages"]["node_modules/@modelcontextprotocol/ext-apps"]["version"] == "2.0.4"
