"""Fixtures the command-line tests share."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from causalsim.cli import main


@pytest.fixture
def run_estimate(capsys):
    """``call(*argv) -> (exit code, stdout, stderr)`` of ``causalsim estimate ARGV``."""
    def call(*argv: str) -> tuple[int, str, str]:
        code = main(["estimate", *argv])
        out, err = capsys.readouterr()
        return code, out, err
    return call


# ---------------------------------------------------------------------------- headless Chromium
# A report is checked in a real browser without a driver library: Chromium's own command line
# loads a copy of the page with a few lines of script appended that count the images that failed to
# decode and the tables, and print the counts into the DOM (--dump-dom); console errors come from
# Chromium's log (--enable-logging=stderr); a second run takes the screenshot.
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")

_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
          "--disable-background-networking", "--disable-component-update", "--disable-sync",
          "--hide-scrollbars", "--virtual-time-budget=10000"]

_PROBE = """<script>window.addEventListener("load",function(){var im=document.images,b=0;
for(var i=0;i<im.length;i++){if(!im[i].complete||im[i].naturalWidth===0){b++;}}
var d=document.createElement("pre");d.id="__probe";d.textContent="images="+im.length+" broken="+b+
" tables="+document.querySelectorAll("table").length;document.body.appendChild(d);});</script>"""


def _chromium(args: list[str], profile: Path) -> subprocess.CompletedProcess:
    return subprocess.run([CHROMIUM, *_FLAGS, f"--user-data-dir={profile}", *args],
                          capture_output=True, text=True, timeout=120)


def render(page: Path, shot: Path) -> dict:
    """Open ``page`` in headless Chromium: console errors, image and table counts, screenshot's
    non-blank share (pixels differing from the top-left background pixel)."""
    import matplotlib.image as mpimg
    import numpy as np

    page = Path(page)
    probe = page.with_name("__probe_" + page.name)
    text = page.read_text(encoding="utf-8")
    probe.write_text(text.replace("</body>", _PROBE + "</body>"), encoding="utf-8")
    try:
        run = _chromium(["--enable-logging=stderr", "--v=0", "--dump-dom", probe.as_uri()],
                        page.parent / ".chromium-a")
    finally:
        probe.unlink()
    found = re.search(r"images=(\d+) broken=(\d+) tables=(\d+)", run.stdout)
    errors = [line for line in run.stderr.splitlines()
              if "CONSOLE" in line and ("error" in line.lower() or "Uncaught" in line)]
    shot_run = _chromium(["--window-size=1200,2400", f"--screenshot={shot}", page.as_uri()],
                         page.parent / ".chromium-b")
    pixels = mpimg.imread(str(shot)) if Path(shot).exists() else np.zeros((1, 1, 3))
    rgb = pixels[..., :3]
    nonblank = float(np.mean(np.any(np.abs(rgb - rgb[0, 0]) > 0.02, axis=-1)))
    return {"errors": errors + ([] if found else [f"no probe output: {run.stderr[-500:]}"]),
            "images": int(found.group(1)) if found else 0, "broken": int(found.group(2)) if found else -1,
            "tables": int(found.group(3)) if found else 0, "nonblank": nonblank,
            "returncodes": (run.returncode, shot_run.returncode)}


@pytest.fixture
def chromium_render():
    """``render(page, shot) -> dict`` in headless Chromium; skips the test where Chromium is absent."""
    if CHROMIUM is None:
        pytest.skip("Chromium is not installed (Debian/Ubuntu: apt-get install chromium)")
    return render
