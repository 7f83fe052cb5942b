"""From the field (issue 25), over HTTP against gunicorn: a case filed with a 3 MB photo, and a
phone's queue of creates replayed with Idempotency-Keys."""
from __future__ import annotations

import http.client
import io
import json
import os
import random
import tempfile
import time
import uuid

from PIL import Image
from sqlalchemy import select

from bench.common import line, populated
from bench.http import gunicorn
from casetrack.extensions import db
from casetrack.models import User
from casetrack.services.organisation.accounts import create_token

CASE = {"title": "村道坑洼，雨天无法通行", "category": "infrastructure", "kind": "individual",
        "description": "王家组到李家组的路", "resident": {"name": "张三", "phone": "13800000000"}}
PHOTO_BYTES = 3 * 1024 * 1024


def camera_photos(n: int) -> list[bytes]:
    """`n` different JPEGs of about 3 MB each: noise compresses badly, as a detailed outdoor photo
    does. Different, because the app stores a file by its content's hash: the same photo again
    would cost it no write at all, where the baseline writes every time."""
    rng = random.Random(1)
    side = 1200
    while True:
        image = Image.frombytes("RGB", (side, side * 3 // 4), rng.randbytes(side * (side * 3 // 4) * 3))
        out = io.BytesIO()
        image.save(out, "JPEG", quality=85)
        if out.tell() >= PHOTO_BYTES:
            break
        side += 200
    photos = [out.getvalue()]
    for k in range(1, n):
        image.putpixel((0, 0), (k % 256, k // 256 % 256, 0))
        out = io.BytesIO()
        image.save(out, "JPEG", quality=85)
        photos.append(out.getvalue())
    return photos


def _request(port: int, method: str, path: str, body: bytes, headers: dict) -> dict:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request(method, path, body=body, headers=headers)
    response = conn.getresponse()
    data = response.read()
    conn.close()
    if response.status != 201:
        raise SystemExit(f"{method} {path}: {response.status} {data[:200]!r}")
    return json.loads(data)


def _multipart(photo: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    head = (f'--{boundary}\r\nContent-Disposition: form-data; name="stage"\r\n\r\nbefore\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="photo.jpg"\r\n'
            f"Content-Type: image/jpeg\r\n\r\n").encode()
    return head + photo + f"\r\n--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def _server(databases, quick: bool):
    url = databases.data(cases=2_000 if quick else 100_000, copy=True)
    with populated(url):
        leader = db.session.scalars(select(User).where(User.role == "group_leader").order_by(User.id)).first()
        token = create_token(leader, "bench")
        db.session.commit()
    return url, {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}


def run_photo(databases, quick: bool) -> bool:
    """A case and its 3 MB photo vs the same case alone plus a plain write (and fsync) of the bytes."""
    url, headers = _server(databases, quick)
    rounds = 5 if quick else 30
    warm, *photos = camera_photos(rounds + 1)
    body = json.dumps(CASE).encode()
    spent = {"photo": 0.0, "plain": 0.0}
    try:
        with gunicorn(url) as (port, _server_process), tempfile.TemporaryDirectory() as folder:
            case = _request(port, "POST", "/api/v1/cases", body, headers)  # warm up, Pillow's plugins too
            upload, kind = _multipart(warm)
            _request(port, "POST", f"/api/v1/cases/{case['id']}/attachments", upload, {**headers, "Content-Type": kind})
            for n, photo in enumerate(photos):  # alternately, so the machine's load weighs on both sides
                start = time.perf_counter()
                case = _request(port, "POST", "/api/v1/cases", body, headers)
                upload, kind = _multipart(photo)
                _request(port, "POST", f"/api/v1/cases/{case['id']}/attachments", upload,
                         {**headers, "Content-Type": kind})
                spent["photo"] += time.perf_counter() - start
                start = time.perf_counter()
                _request(port, "POST", "/api/v1/cases", body, headers)
                with open(os.path.join(folder, f"{n}.jpg"), "wb") as out:
                    out.write(photo)
                    out.flush()
                    os.fsync(out.fileno())
                spent["plain"] += time.perf_counter() - start
    finally:
        databases.drop(url)
    return line("photo_upload", spent["photo"] / spent["plain"], "<=", 2,
                f"a case with a {len(photos[0]) / 2**20:.1f} MB photo (a new one each time) {1000 * spent['photo'] / rounds:.0f} ms, "
                f"the case alone plus writing the bytes {1000 * spent['plain'] / rounds:.0f} ms; "
                f"{rounds} of each, one client, gunicorn 2 workers")


def run_replay(databases, quick: bool) -> bool:
    """100 creates sent with a new Idempotency-Key each (a phone's queue) vs 100 without."""
    url, headers = _server(databases, quick)
    rounds, batch = (2, 50) if quick else (10, 50)
    bodies = [json.dumps({**CASE, "title": f"{CASE['title']} {n}"}).encode() for n in range(batch)]
    spent = {"keyed": 0.0, "plain": 0.0}
    try:
        with gunicorn(url) as (port, _server_process):
            _request(port, "POST", "/api/v1/cases", bodies[0], headers)  # warm up
            for n, body in enumerate(bodies * rounds):
                # create by create, in turn first, so that the machine's load (other sessions
                # share the 2 cores) weighs on both sides alike (until 2026-12-06: batches of 50)
                for side in ("keyed", "plain") if n % 2 == 0 else ("plain", "keyed"):
                    keyed = {**headers, "Idempotency-Key": str(uuid.uuid4())} if side == "keyed" else headers
                    start = time.perf_counter()
                    _request(port, "POST", "/api/v1/cases", body, keyed)
                    spent[side] += time.perf_counter() - start
    finally:
        databases.drop(url)
    n = rounds * batch
    return line("offline_replay", spent["keyed"] / spent["plain"], "<=", 1.3,
                f"{n} creates with Idempotency-Keys {1000 * spent['keyed'] / n:.1f} ms each, "
                f"{n} plain {1000 * spent['plain'] / n:.1f} ms each; one client, gunicorn 2 workers")
