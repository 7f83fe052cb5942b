"""Filing without a signal (issue 25): cases filled in offline wait on the phone, survive a
reload, and reach the server exactly once with their photos, even when the connection dies
between the server's answer and the phone."""
from __future__ import annotations

import io
import re
from urllib.parse import quote

from PIL import Image

OUTBOX = "[data-outbox-count]"


def jpeg(colour) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), colour).save(out, "JPEG")
    return out.getvalue()


def api_get(s, path: str):
    """The JSON API with the page's own session, as static/offline.js uses it."""
    token = s.page.get_attribute("meta[name=csrf-token]", "content")
    r = s.page.request.get(s.base + "/api/v1" + path, headers={"X-CSRFToken": token})
    assert r.status == 200, r.text()
    return r.json()


def on_server(s, words: str) -> dict[str, int]:
    """Title → number of photos, of the cases whose title holds `words`."""
    cases = api_get(s, "/cases?q=" + quote(words))["cases"]
    return {c["title"]: len(api_get(s, f"/cases/{c['id']}")["attachments"]) for c in cases}


def installed(s):
    """Logged in: the service worker controls the page and has kept the field pages."""
    # evaluate awaits the promise (wait_for_function evaluates strings, which the CSP refuses)
    assert s.page.evaluate("""() => Promise.race([
        navigator.serviceWorker.ready.then(() => navigator.serviceWorker.controller ||
            new Promise(resolve => navigator.serviceWorker.addEventListener("controllerchange", resolve)))
        .then(() => true),
        new Promise(resolve => setTimeout(() => resolve(false), 10000))])"""), "no service worker"
    s.go("/cases/new")


def fill_offline(s, title: str, colour) -> None:
    page = s.page
    page.select_option("#category", "infrastructure")
    page.fill("#title", title)
    page.fill("#resident_name", "张三")
    page.set_input_files("#photos", files=[{"name": "现场.jpg", "mimeType": "image/jpeg", "buffer": jpeg(colour)}])
    page.click("main form button[type=submit]")


def test_two_cases_filed_offline_reach_the_server_once_with_their_photos(session):
    phone = session("member1", width=360, height=740)
    installed(phone)
    phone.context.set_offline(True)
    fill_offline(phone, "离线一号：村口路灯不亮", (200, 0, 0))
    phone.page.wait_for_selector(f"{OUTBOX}:has-text('待上传 1 条')")
    fill_offline(phone, "离线二号：水渠堵塞", (0, 0, 200))
    phone.page.wait_for_selector(f"{OUTBOX}:has-text('待上传 2 条')")
    assert phone.page.input_value("#title") == ""  # the form is free for the next one
    phone.page.reload()  # still offline: the page comes from the phone, and so does the queue
    phone.page.wait_for_selector(f"{OUTBOX}:has-text('待上传 2 条')")
    assert phone.page.evaluate("document.scrollingElement.scrollWidth") <= 360
    phone.context.set_offline(False)
    phone.page.wait_for_selector("[data-outbox]", state="hidden", timeout=30_000)  # after retries
    assert on_server(phone, "离线") == {"离线一号：村口路灯不亮": 1, "离线二号：水渠堵塞": 1}


def test_a_connection_lost_after_the_server_answered_files_nothing_twice(session):
    phone = session("member1", width=360, height=740)
    installed(phone)
    lost = {"case": 0, "photo": 0}

    def lose_the_first_answer(kind):
        def handle(route):
            if route.request.method == "POST" and not lost[kind]:
                lost[kind] += 1
                route.fetch()  # the server did the work; its answer never reaches the phone
                route.abort("connectionreset")
            else:
                route.continue_()
        return handle

    phone.page.route(re.compile(r".*/api/v1/cases$"), lose_the_first_answer("case"))
    phone.page.route(re.compile(r".*/api/v1/cases/\d+/attachments$"), lose_the_first_answer("photo"))
    phone.context.set_offline(True)
    fill_offline(phone, "断线一号：桥栏杆松动", (0, 150, 0))
    phone.page.wait_for_selector(f"{OUTBOX}:has-text('待上传 1 条')")  # kept, and the form emptied
    fill_offline(phone, "断线二号：垃圾未清运", (150, 150, 0))
    phone.page.wait_for_selector(f"{OUTBOX}:has-text('待上传 2 条')")
    phone.context.set_offline(False)
    phone.page.wait_for_selector("[data-outbox]", state="hidden", timeout=30_000)  # after retries
    assert lost == {"case": 1, "photo": 1}
    assert on_server(phone, "断线") == {"断线一号：桥栏杆松动": 1, "断线二号：垃圾未清运": 1}
