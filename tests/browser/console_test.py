"""The coordinator console in headless Chromium against a real `jemput serve --demo`.

A coordinator signs in, plans, watches the search's progress arrive on the stream, publishes, moves a stop to another team
with the keyboard, reads the API's preview and applies it; the API shows the change; a second
browser session sees it arrive over the live stream; an officer's positions (sent through the
API, as the phone does) move the team's marker; a team reports a visit done and the next
citizen's visit page shows it on its way with an expected arrival; the KPI tab counts the
visit done; the page switches to English. Screenshots go
to target/browser-screenshots/ (to docs/screenshots/ with UPDATE_SCREENSHOTS=1). Usage:
console_test.py BINARY (run by tests/browser/run.sh).
"""

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import datetime, timezone
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

ROOT = Path(__file__).resolve().parents[2]
# The README's screenshots are refreshed only when asked (UPDATE_SCREENSHOTS=1), so a test
# run leaves the working tree as it was; otherwise they go under target/.
SHOTS = (
    ROOT / "docs" / "screenshots"
    if os.environ.get("UPDATE_SCREENSHOTS") == "1"
    else ROOT / "target" / "browser-screenshots"
)
PASSWORD = "jemput-demo-2026"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def api(base, method, path, token=None, body=None, headers=None):
    request = urllib.request.Request(base + path, method=method)
    if token:
        request.add_header("authorization", f"Bearer {token}")
    for key, value in (headers or {}).items():
        request.add_header(key, value)
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        request.add_header("content-type", "application/json")
    with urllib.request.urlopen(request, data, timeout=30) as response:
        return json.loads(response.read() or b"null")


def token(base, username):
    return api(base, "POST", "/v1/auth/login", body={"username": username, "password": PASSWORD})["access_token"]


def start_service(binary, workdir):
    port = free_port()
    env = dict(os.environ)
    env.update({
        "JEMPUT__SERVER__PORT": str(port),
        "JEMPUT__DATABASE__URL": f"sqlite://{workdir}/jemput.db",
        "JEMPUT__LOG__FILTER": "warn",
    })
    log = open(Path(workdir) / "service.log", "w")
    process = subprocess.Popen([binary, "serve", "--demo"], env=env, stdout=log, stderr=log, cwd=ROOT)
    base = f"http://127.0.0.1:{port}"
    for _ in range(120):
        try:
            urllib.request.urlopen(base + "/health/live", timeout=1)
            return process, base
        except OSError:
            time.sleep(0.5)
    process.kill()
    raise SystemExit("the service did not start; see " + str(Path(workdir) / "service.log"))


def sign_in(page, base):
    page.goto(base + "/console/")
    page.get_by_label("Nama pengguna").fill("koordinator")
    page.get_by_label("Kata sandi").fill(PASSWORD)
    page.get_by_role("button", name="Masuk").click()
    expect(page.locator("#board-view")).to_be_visible()
    expect(page.locator("#live-state")).to_have_class("live on", timeout=15000)


def main(binary):
    SHOTS.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as workdir:
        process, base = start_service(binary, workdir)
        try:
            scenario(base)
        finally:
            process.terminate()
            process.wait(timeout=20)
    print("browser test passed")


def scenario(base):
    errors = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        viewport = {"width": 1366, "height": 768}
        coordinator = browser.new_context(viewport=viewport).new_page()
        coordinator.on("pageerror", lambda e: errors.append(str(e)))
        sign_in(coordinator, base)

        # Plan two days with a 3 s limit; the search's best so far streams in while it runs.
        coordinator.get_by_label("Jumlah hari").fill("2")
        coordinator.get_by_label("Batas waktu (detik)").fill("3")
        coordinator.get_by_role("button", name="Buat rencana").click()
        expect(coordinator.locator("#plan-progress")).to_be_visible()
        expect(coordinator.locator("#plan-status")).to_contain_text("Terbaik sejauh ini", timeout=20000)
        assert float(coordinator.locator("#plan-status").get_attribute("data-best-cost")) > 0
        coordinator.screenshot(path=str(SHOTS / "console-planning.png"))
        publish = coordinator.get_by_role("button", name="Terbitkan")
        expect(publish).to_be_visible(timeout=60000)
        expect(coordinator.locator("#plan-status")).to_contain_text("Draf siap")
        publish.click()
        expect(coordinator.locator("#message")).to_contain_text("Rencana diterbitkan", timeout=20000)
        visits = coordinator.locator(".tl-visit")
        expect(visits.first).to_be_visible(timeout=20000)
        day = coordinator.locator("#day").input_value()
        coordinator.screenshot(path=str(SHOTS / "console-board.png"))

        # A second console on the same day, to see the change arrive live.
        watcher = browser.new_context(viewport=viewport).new_page()
        watcher.on("pageerror", lambda e: errors.append(str(e)))
        sign_in(watcher, base)
        watcher.locator("#day").fill(day)
        watcher.locator("#day").dispatch_event("change")
        expect(watcher.locator(".tl-visit").first).to_be_visible(timeout=20000)

        # Move the first visit of the first team to another team, with the keyboard only.
        first = visits.first
        request_id = int(first.get_attribute("data-request"))
        from_team = int(first.locator("xpath=ancestor::div[@data-team]").get_attribute("data-team"))
        first.focus()
        coordinator.keyboard.press("Enter")
        dialog = coordinator.locator("#move-dialog")
        expect(dialog).to_be_visible()
        target_team = int(coordinator.get_by_label("Ke tim").input_value())
        assert target_team != from_team
        coordinator.get_by_role("button", name="Pratinjau").click()
        expect(coordinator.locator("#preview")).to_contain_text("Tambahan jarak", timeout=20000)
        expect(coordinator.locator("#preview")).to_contain_text("Warga yang akan diberi tahu")
        coordinator.screenshot(path=str(SHOTS / "console-move-preview.png"))
        coordinator.get_by_role("button", name="Terapkan").click()
        expect(coordinator.locator("#message")).to_contain_text("Perubahan diterapkan", timeout=20000)
        expect(dialog).to_be_hidden()

        # The API shows the visit on the target team's route.
        coord_token = token(base, "koordinator")
        routes = api(base, "GET", f"/v1/routes?date={day}", coord_token)["routes"]
        on_target = [r for r in routes if r["team_id"] == target_team][0]
        assert request_id in [s["request_id"] for s in on_target["stops"]], on_target

        # The second console sees it without reloading.
        moved = f'.tl-row[data-team="{target_team}"] .tl-visit[data-request="{request_id}"]'
        expect(watcher.locator(moved)).to_be_visible(timeout=15000)

        # An officer's phone sends positions: the team's marker appears, then moves.
        officer = token(base, "petugas1")
        team = api(base, "GET", "/v1/me", officer)["team_ids"][0]
        marker = coordinator.locator(f'.team-marker[data-team="{team}"]')
        for lat, lon in [(-7.8606, 110.1583), (-7.8450, 110.1800)]:
            now = datetime.now(timezone.utc).isoformat()
            answer = api(base, "POST", "/v1/me/positions", officer,
                         {"positions": [{"at": now, "lat": lat, "lon": lon, "accuracy_m": 10}]})
            assert answer["results"][0]["result"] == "stored", answer
            expect(marker).to_have_attribute("data-lat", f"{lat:.5f}", timeout=15000)
            expect(marker).to_have_attribute("data-lon", f"{lon:.5f}")
            time.sleep(0.01)
        coordinator.screenshot(path=str(SHOTS / "console-live.png"))

        # A team finishes a visit: the next citizen's page shows the team on its way.
        routes = api(base, "GET", f"/v1/routes?date={day}", coord_token)["routes"]
        for n in range(1, 9):
            officer = token(base, f"petugas{n}")
            team = api(base, "GET", "/v1/me", officer)["team_ids"][0]
            route = next((r for r in routes if r["team_id"] == team and len(r["stops"]) >= 2), None)
            if route:
                break
        first_stop, next_stop = route["stops"][0]["request_id"], route["stops"][1]["request_id"]
        now = datetime.now(timezone.utc).isoformat()
        answer = api(base, "POST", "/v1/me/events", officer,
                     {"events": [{"id": "browser-done-1", "kind": "completed", "request_id": first_stop, "at": now}]})
        assert answer["results"][0]["result"] == "applied", answer
        link = api(base, "GET", f"/v1/requests/{next_stop}/visit-link", coord_token)["url"]
        phone = browser.new_context(viewport={"width": 360, "height": 640}).new_page()
        phone.goto(base + link)
        expect(phone.locator("body")).to_contain_text("Tim sedang dalam perjalanan")
        expect(phone.locator("body")).to_contain_text("Perkiraan tiba")
        phone.screenshot(path=str(SHOTS / "visit-page.png"))

        # The KPI tab counts the visit just done, in a plain SVG chart and the district table.
        coordinator.get_by_role("tab", name="KPI").click()
        coordinator.get_by_label("Sampai").fill(day)
        coordinator.get_by_role("button", name="Tampilkan").click()
        expect(coordinator.locator("#kpi-summary")).to_contain_text("1 dilayani", timeout=15000)
        expect(coordinator.locator('#kpi-served-chart rect[data-value="1"]')).to_have_count(1)
        expect(coordinator.locator("#kpi-districts tr").first).to_be_visible()
        coordinator.screenshot(path=str(SHOTS / "console-kpis.png"))

        # English on request.
        coordinator.get_by_label("Bahasa").select_option("en")
        expect(coordinator.locator("h1")).to_have_text("Coordinator console")
        expect(coordinator.get_by_role("button", name="Plan", exact=True)).to_be_visible()
        coordinator.screenshot(path=str(SHOTS / "console-english.png"))

        browser.close()
    assert not errors, errors


if __name__ == "__main__":
    main(sys.argv[1])
