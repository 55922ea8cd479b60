"""Headless Chromium over the DevTools protocol on a pipe: the review pack's browser check and its pictures.

``--remote-debugging-pipe`` speaks JSON messages on file descriptors 3 and 4, so no websocket
library is needed. ``tests/test_report.py`` uses it to check the pack as a browser lays it out;
``python -m orchestration.reports.snapshots`` uses it to make the screenshots and the PDF in docs/img.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import time
from pathlib import Path

CHROMIUM = shutil.which("chromium")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--no-first-run", "--disable-extensions", "--mute-audio",
                  "--hide-scrollbars"]


class Browser:
    """Headless Chromium driven over the DevTools protocol on a pipe (fd 3: commands in, fd 4: out)."""

    def __init__(self, profile_dir: Path):
        to_chrome_r, self._to_chrome = os.pipe()
        self._from_chrome, from_chrome_w = os.pipe()
        shell = 'exec "$0" "$@" 3<&"$IN" 4>&"$OUT"'
        self.proc = subprocess.Popen(
            ["bash", "-c", shell, CHROMIUM, *CHROMIUM_FLAGS, "--remote-debugging-pipe",
             f"--user-data-dir={profile_dir}", "about:blank"],
            pass_fds=(to_chrome_r, from_chrome_w), env={**os.environ, "IN": str(to_chrome_r), "OUT": str(from_chrome_w)},
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict] = []

    def _read_message(self, deadline: float) -> dict:
        while b"\0" not in self._buffer:
            if time.monotonic() > deadline:
                raise TimeoutError("chromium did not answer in time")
            chunk = os.read(self._from_chrome, 1 << 16)
            if not chunk:
                raise RuntimeError(f"chromium exited (status {self.proc.poll()})")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def send(self, method: str, params: dict | None = None, session: str | None = None, timeout: float = 60) -> dict:
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._to_chrome, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            reply = self._read_message(deadline)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_for(self, method: str, timeout: float = 60) -> dict:
        deadline = time.monotonic() + timeout
        for i, event in enumerate(self.events):
            if event.get("method") == method:
                return self.events.pop(i)
        while True:
            event = self._read_message(deadline)
            if event.get("method") == method:
                return event
            self.events.append(event)

    def open(self, url: str, width: int = 1280, height: int = 900) -> str:
        """A new tab with console and log capture, offline, at ``url``; returns its session id."""
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.send(f"{domain}.enable", session=session)
        self.send("Network.emulateNetworkConditions", {"offline": True, "latency": 0, "downloadThroughput": -1,
                                                       "uploadThroughput": -1}, session=session)
        self.send("Emulation.setDeviceMetricsOverride", {"width": width, "height": height, "deviceScaleFactor": 1,
                                                         "mobile": False}, session=session)
        self.send("Page.navigate", {"url": url}, session=session)
        self.wait_for("Page.loadEventFired")
        return session

    def evaluate(self, session: str, expression: str):
        result = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True}, session=session)
        if "exceptionDetails" in result:
            raise RuntimeError(result["exceptionDetails"])
        return result["result"].get("value")

    def problems(self) -> list[str]:
        """Uncaught exceptions, console errors/warnings, error log entries and failed requests seen so far."""
        found = []
        for event in self.events:
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.exceptionThrown":
                found.append(f"uncaught: {params['exceptionDetails'].get('text')} "
                             f"{params['exceptionDetails'].get('exception', {}).get('description', '')}")
            elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "warning", "assert"):
                found.append(f"console.{params['type']}: {[a.get('value') for a in params.get('args', [])]}")
            elif method == "Log.entryAdded" and params["entry"].get("level") in ("error", "warning"):
                found.append(f"log {params['entry']['level']}: {params['entry'].get('text')}")
            elif method == "Network.loadingFailed":
                found.append(f"request failed: {params.get('errorText')}")
        return found

    def screenshot(self, session: str, path: Path, *, clip: dict | None = None) -> None:
        params = {"format": "png", "captureBeyondViewport": True}
        if clip:
            params["clip"] = {**clip, "scale": 1}
        path.write_bytes(base64.b64decode(self.send("Page.captureScreenshot", params, session=session)["data"]))

    def set_viewport(self, session: str, width: int, height: int = 900) -> None:
        self.send("Emulation.setDeviceMetricsOverride", {"width": width, "height": height, "deviceScaleFactor": 1,
                                                         "mobile": False}, session=session)

    def set_media(self, session: str, media: str) -> None:
        """Lay the page out for ``print`` (the @media print rules) or back for ``screen`` (``""``)."""
        self.send("Emulation.setEmulatedMedia", {"media": media}, session=session)

    def print_pdf(self, session: str, path: Path) -> None:
        """Print to PDF as a user would (the page's own @page size and margins, backgrounds on)."""
        result = self.send("Page.printToPDF", {"preferCSSPageSize": True, "printBackground": True}, session=session,
                           timeout=120)
        path.write_bytes(base64.b64decode(result["data"]))

    def close(self) -> None:
        try:
            self.send("Browser.close", timeout=10)
        except (RuntimeError, TimeoutError, OSError):
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._to_chrome)
        os.close(self._from_chrome)
