"""From the field (issue 25), over HTTP against gunicorn: a case filed with a 3 MB photo, and a
phone's queue of creates replayed with Idempotency-Keys."""
from __future__ import annotations

import hashlib
import http.client
import io
import json
import os
import random
import tempfile
import time
import uuid

from PIL import Image, ImageChops, ImageDraw
from sqlalchemy import func, select

from bench.common import line, measure, populated
from bench.http import gunicorn
from casetrack.extensions import db
from casetrack.models import Attachment, User
from casetrack.services.casework import attachments
from casetrack.services.organisation.accounts import create_token

CASE = {"title": "村道坑洼，雨天无法通行", "category": "infrastructure", "kind": "individual",
        "description": "王家组到李家组的路", "resident": {"name": "张三", "phone": "13800000000"}}
PHOTO_BYTES = 3 * 1024 * 1024


def noise_photos(n: int) -> list[bytes]:
    """`n` JPEGs of about 3 MB each, 2400 x 1800 of noise: the worst case, as noise compresses
    and decodes worse than any photo. Each of new noise: the app stores a file by its content's
    hash, so the same photo again would cost it no write, where the baseline writes every time
    (until 2026-12-06 night one pixel told them apart, which the JPEG encoding often did not:
    3 of 6 were the same bytes)."""
    rng = random.Random(1)
    size = (2400, 1800)
    photos = []
    for _ in range(n):
        out = io.BytesIO()
        Image.frombytes("RGB", size, rng.randbytes(size[0] * size[1] * 3)).save(out, "JPEG", quality=85)
        photos.append(out.getvalue())
    return photos


def camera_photos(n: int) -> list[bytes]:
    """`n` JPEGs of about 3 MB each as a phone's camera takes them, not shrunk by the page: 12
    megapixels (4032 x 3024) of smooth gradients, shapes with sharp edges and a sensor's grain,
    quality 90; each different (its own gradients, shapes and grain)."""
    rng = random.Random(2)
    size = (4032, 3024)
    photos = []
    for _ in range(n):
        image = Image.merge("RGB", [Image.linear_gradient("L").rotate(rng.randrange(360)).resize(size)
                                    for _band in range(3)])
        draw = ImageDraw.Draw(image)
        for _shape in range(60):
            x, y, r = rng.randrange(size[0]), rng.randrange(size[1]), rng.randrange(20, 400)
            draw.ellipse((x, y, x + r, y + r * rng.random()), fill=tuple(rng.randrange(256) for _c in range(3)))
        grain = Image.effect_noise((size[0] // 2, size[1] // 2), 17).resize(size, Image.BILINEAR)
        image = ImageChops.add(image, grain.convert("RGB"), offset=-128)
        out = io.BytesIO()
        image.save(out, "JPEG", quality=90)
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
    """A case and its 3 MB photo vs the same case alone plus a plain write (and fsync) of the
    bytes: the noise photo (the line held to the target), and a camera's photo (measured)."""
    url, headers = _server(databases, quick)
    rounds = 5 if quick else 30
    warm, *noise = noise_photos(rounds + 1)
    camera = camera_photos(rounds)
    body = json.dumps(CASE).encode()
    spent = dict.fromkeys(("noise", "noise plain", "camera", "camera plain"), 0.0)

    def file_with_photo(port: int, upload: tuple[bytes, str]) -> None:
        case = _request(port, "POST", "/api/v1/cases", body, headers)
        _request(port, "POST", f"/api/v1/cases/{case['id']}/attachments", upload[0],
                 {**headers, "Content-Type": upload[1]})

    def file_and_write(port: int, photo: bytes, path: str) -> None:
        _request(port, "POST", "/api/v1/cases", body, headers)
        with open(path, "wb") as out:
            out.write(photo)
            out.flush()
            os.fsync(out.fileno())

    try:
        with gunicorn(url) as (port, _server_process), tempfile.TemporaryDirectory() as folder:
            before = _photos(url)
            file_with_photo(port, _multipart(warm))  # warm up, Pillow's plugins too
            for n in range(rounds):
                sides = {"noise": (file_with_photo, (_multipart(noise[n]),)),
                         "noise plain": (file_and_write, (noise[n], os.path.join(folder, f"n{n}.jpg"))),
                         "camera": (file_with_photo, (_multipart(camera[n]),)),
                         "camera plain": (file_and_write, (camera[n], os.path.join(folder, f"c{n}.jpg")))}
                order = list(sides)
                # each side first in turn, so that the machine's load weighs on all alike
                for side in order[n % 4:] + order[:n % 4]:
                    run, args = sides[side]
                    start = time.perf_counter()
                    run(port, *args)
                    spent[side] += time.perf_counter() - start
            uploaded = 1 + 2 * rounds
            processed, pending = _processed_since(url, before, uploaded)
        cpu = {kind: _processing_cpu(url, photos) for kind, photos in (("noise", noise), ("camera", camera))}
    finally:
        databases.drop(url)
    print(f"# processed after the answer: {cpu['noise']:.0f} ms CPU a noise photo, {cpu['camera']:.0f} ms a camera "
          f"photo (the same photos decoded, re-encoded and hashed here as the server's worker does after "
          f"answering); {processed} of {uploaded} uploaded photos processed by the server, {pending} left pending",
          flush=True)
    if processed != uploaded or pending:
        print("photo_upload: FAILED, the server left photos unprocessed  << MISSED", flush=True)
        return False
    ms = {side: 1000 * seconds / rounds for side, seconds in spent.items()}
    measure("photo_upload_camera", spent["camera"] / spent["camera plain"],
            f"a case with a {len(camera[0]) / 2**20:.1f} MB 12-megapixel camera photo {ms['camera']:.0f} ms, "
            f"the case alone plus writing the bytes {ms['camera plain']:.0f} ms; {rounds} of each")
    return line("photo_upload", spent["noise"] / spent["noise plain"], "<=", 2,
                f"a case with a {len(noise[0]) / 2**20:.1f} MB photo of noise (a new one each time) {ms['noise']:.0f} ms, "
                f"the case alone plus writing the bytes {ms['noise plain']:.0f} ms; "
                f"{rounds} of each, one client, gunicorn 2 workers")


def _photos(url: str) -> int:
    with populated(url):
        return db.session.scalar(select(func.count()).select_from(Attachment))


def _processed_since(url: str, before: int, uploaded: int) -> tuple[int, int]:
    """(photos processed, photos pending) among those added since `before`, once the server's
    workers have had up to a minute to process them after answering."""
    with populated(url):
        for _wait in range(600):
            pending = db.session.scalar(select(func.count()).select_from(Attachment)
                                        .where(Attachment.processed_at.is_(None)))
            total = db.session.scalar(select(func.count()).select_from(Attachment))
            db.session.rollback()
            if not pending and total - before >= uploaded:
                break
            time.sleep(0.1)
        processed = db.session.scalar(select(func.count()).select_from(Attachment)
                                      .where(Attachment.processed_at.is_not(None)))
        return processed - before, pending


def _processing_cpu(url: str, photos: list[bytes]) -> float:
    """Milliseconds of CPU a photo takes to process (decode, re-encode, thumbnail, hashes), in
    this process, with the app's limits."""
    with populated(url):
        started = time.thread_time()
        for data in photos:
            stored = attachments._image(data)
            hashlib.sha256(stored.data).hexdigest()
            hashlib.sha256(stored.thumbnail).hexdigest()
        return 1000 * (time.thread_time() - started) / len(photos)


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
