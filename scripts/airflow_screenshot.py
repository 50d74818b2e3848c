"""Screenshot of an Airflow UI page with headless Chromium (Debian: `apt-get install chromium`).

    .venv/bin/python scripts/airflow_screenshot.py http://127.0.0.1:8080/dags/news_ingest docs/airflow-grid.png

Logs in as the first user of standalone's generated password file ($AIRFLOW_HOME, or --home):
the JWT from ``POST /auth/token`` is set as the UI's ``_token`` cookie through the DevTools
protocol, then the page is loaded and captured. Only for a look at what users see; nothing
depends on it.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

import websockets
from airflow_standalone import PASSWORDS_FILE, Api, port_free


async def _capture(ws_url: str, cookie_url: str, token: str, page_url: str, wait_s: float) -> bytes:
    async with websockets.connect(ws_url, max_size=64 * 1024 * 1024) as ws:
        counter = 0

        async def send(method: str, **params: object) -> dict:
            nonlocal counter
            counter += 1
            await ws.send(json.dumps({"id": counter, "method": method, "params": params}))
            while True:
                message = json.loads(await ws.recv())
                if message.get("id") == counter:
                    return message.get("result", {})

        await send("Network.enable")
        await send("Network.setCookie", name="_token", value=token, url=cookie_url)
        await send("Page.enable")
        await send("Page.navigate", url=page_url)
        await asyncio.sleep(wait_s)  # the UI is a single-page app: let it fetch and render
        shot = await send("Page.captureScreenshot", format="png")
        return base64.b64decode(shot["data"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", help="page of the Airflow UI, e.g. http://127.0.0.1:8080/dags/news_ingest")
    parser.add_argument("output", type=Path, help="PNG file to write")
    parser.add_argument("--home", default=os.environ.get("AIRFLOW_HOME", ".airflow"), help="AIRFLOW_HOME")
    parser.add_argument("--size", default="1600,1000", help="window size (default 1600,1000)")
    parser.add_argument("--wait", type=float, default=25.0, help="seconds to let the page render and load its translations (default 25)")
    args = parser.parse_args()

    parts = urlsplit(args.url)
    base = f"{parts.scheme}://{parts.netloc}"
    api = Api(base, Path(args.home) / PASSWORDS_FILE)
    user, password = api.login()
    token = api.call("POST", "/auth/token", {"username": user, "password": password})["access_token"]
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise SystemExit("no chromium on PATH (Debian: apt-get install chromium)")
    port = next(p for p in range(9520, 9600) if port_free(p))
    with tempfile.TemporaryDirectory(prefix="airflow-shot-") as profile:
        browser = subprocess.Popen(
            [chromium, "--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
             f"--remote-debugging-port={port}", f"--user-data-dir={profile}", f"--window-size={args.size}",
             "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=2) as resp:
                        pages = [t for t in json.load(resp) if t["type"] == "page"]
                    if pages:
                        break
                except OSError:
                    pass
                if time.monotonic() > deadline:
                    raise SystemExit("chromium did not open its DevTools port")
                time.sleep(0.5)
            png = asyncio.run(_capture(pages[0]["webSocketDebuggerUrl"], base, token, args.url, args.wait))
        finally:
            browser.terminate()
            browser.wait(timeout=20)
    args.output.write_bytes(png)
    print(f"{args.output}: {len(png)} bytes")


if __name__ == "__main__":
    main()
