"""A large camera photo is made smaller on the phone (static/photos.js) before it is sent: the
server keeps it at the 2048 px the page shrank it to (unshrunk, the server would keep 1500 px)."""
from __future__ import annotations

import io
import random

from PIL import Image

from tests.browser.test_offline import api_get, on_server


def large_photo() -> bytes:
    """3000 x 2250 pixels of noise, about 5 MB: past the page's 1.5 MB, within the server's 10 MB."""
    out = io.BytesIO()
    Image.frombytes("RGB", (3000, 2250), random.Random(3).randbytes(3000 * 2250 * 3)).save(out, "JPEG", quality=85)
    return out.getvalue()


def test_a_large_photo_is_shrunk_to_2048_px_on_the_phone_before_it_is_sent(session):
    phone = session("member1", width=360, height=740)
    phone.go("/cases/new")
    page = phone.page
    page.select_option("#category", "infrastructure")
    page.fill("#title", "大照片：河堤护栏倒塌")
    page.fill("#resident_name", "张三")
    photo = large_photo()
    assert len(photo) > 1.5 * 2**20
    page.set_input_files("#photos", files=[{"name": "现场.jpg", "mimeType": "image/jpeg", "buffer": photo}])
    page.click("main form button[type=submit]")  # enabled again once the photo is shrunk
    for _ in range(40):
        if on_server(phone, "大照片") == {"大照片：河堤护栏倒塌": 1}:
            break
        page.wait_for_timeout(500)
    case = api_get(phone, "/cases?q=" + "大照片")["cases"][0]
    url = api_get(phone, f"/cases/{case['id']}")["attachments"][0]["url"]
    kept = page.request.get(phone.base + url, headers={
        "X-CSRFToken": page.get_attribute("meta[name=csrf-token]", "content")})
    assert kept.status == 200
    assert Image.open(io.BytesIO(kept.body())).size == (2048, 1536)
