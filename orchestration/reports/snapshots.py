"""The pictures of the review pack in docs/img: screenshots at 1280 px and 820 px, and the PDF.

    .venv/bin/python -m orchestration.reports.snapshots data/reports/finops-review-YYYY-MM.html docs/img

Uses headless Chromium (``chromium`` on PATH) offline, as tests/test_report.py does; the PDF is
what "Print → Save as PDF" makes from the pack's print stylesheet (A4 landscape).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from orchestration.reports.browser import CHROMIUM, Browser

# (file, window width, height of the first screen(s) captured)
SCREENSHOTS = [("review-pack-1280.png", 1280, 1100), ("review-pack-820.png", 820, 1250)]
PDF = "review-pack.pdf"


def write_snapshots(pack: Path, out_dir: Path) -> list[Path]:
    if CHROMIUM is None:
        raise SystemExit("chromium is not on PATH (Debian: apt-get install chromium)")
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    with tempfile.TemporaryDirectory() as profile:
        browser = Browser(Path(profile))
        try:
            for name, width, height in SCREENSHOTS:
                session = browser.open(pack.resolve().as_uri(), width=width, height=height)
                browser.screenshot(session, out_dir / name, clip={"x": 0, "y": 0, "width": width, "height": height})
                written.append(out_dir / name)
            browser.set_media(session, "print")
            browser.print_pdf(session, out_dir / PDF)
            written.append(out_dir / PDF)
        finally:
            browser.close()
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pack", type=Path, help="a review pack, e.g. data/reports/finops-review-2026-10.html")
    parser.add_argument("out_dir", type=Path, nargs="?", default=Path("docs/img"))
    args = parser.parse_args(argv)
    for path in write_snapshots(args.pack, args.out_dir):
        print(f"{path}  ({path.stat().st_size / 1024:.0f} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
