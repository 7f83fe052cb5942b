"""Photos and documents on cases (issue 25): checked and re-encoded, kept in a folder or in the
database, served only within the case's scope, and required by a transition when the workflow says."""
from __future__ import annotations

import io
import struct
import zlib
from dataclasses import replace

import pytest
from docx import Document
from PIL import Image

from casetrack.extensions import db
from casetrack.services.casework.cases import default_workflow
from casetrack.workflow import PhotoRule
from tests.helpers import FIELDS


@pytest.fixture(params=["folder", "database"])
def store(request, app, tmp_path):
    """Each test runs with the files in a folder, then in the database."""
    app.config.update(ATTACHMENTS=request.param, ATTACHMENTS_DIR=str(tmp_path / "attachments"))
    return request.param


def photo(size=(40, 20), orientation: int | None = 6, fmt="JPEG") -> bytes:
    """A camera photo: stored sideways with an EXIF orientation, a camera maker and a GPS position."""
    image = Image.new("RGB", size, (200, 30, 30))
    image.paste((20, 20, 200), (0, 0, size[0] // 2, size[1]))
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"
    if orientation:
        exif[0x0112] = orientation
    exif[0x8825] = {1: "N", 2: (31.0, 12.0, 0.0)}
    out = io.BytesIO()
    image.save(out, fmt, exif=exif.tobytes())
    return out.getvalue()


def pixel_bomb(width=30000, height=30000) -> bytes:
    """A tiny PNG whose header claims width × height pixels."""
    out = io.BytesIO()
    Image.new("L", (1, 1)).save(out, "PNG")
    data = bytearray(out.getvalue())
    ihdr = struct.pack(">II", width, height) + bytes(data[24:29])
    data[16:29] = ihdr
    data[29:33] = struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    return bytes(data)


def upload(token, case_id, data, name="p.jpg", stage="before", **extra):
    return token.client.post(f"/api/v1/cases/{case_id}/attachments", headers=token.headers,
                             data={"file": (io.BytesIO(data), name), "stage": stage, **extra},
                             content_type="multipart/form-data")


def fetch(token, url):
    return token.client.get(url, headers=token.headers)


def test_a_photo_is_re_encoded_upright_without_its_exif_and_listed_on_the_case(api, world, store):
    case, token = world.file("group1"), api("group1")
    db.session.commit()
    sent = photo()
    r = upload(token, case.id, sent, caption="路面塌陷")
    assert r.status_code == 201, r.json
    body = r.json
    assert set(body) >= {"id", "url", "thumbnail_url", "content_type", "size"}
    assert body["content_type"] == "image/jpeg" and body["url"].endswith(f"/attachments/{body['id']}")
    assert body["size"] == len(sent)  # the bytes received: the photo is processed after the answer

    full = fetch(token, body["url"])
    assert full.status_code == 200 and full.mimetype == "image/jpeg"
    assert full.headers["X-Content-Type-Options"] == "nosniff"
    assert b"SecretCam" not in full.data
    assert token.get(f"/cases/{case.id}").json["attachments"][0]["size"] == len(full.data)  # as stored now
    shown = Image.open(io.BytesIO(full.data))
    assert shown.size == (20, 40)                       # turned as the camera meant
    assert dict(shown.getexif()) == {}                  # no maker, no GPS position
    thumb = fetch(token, body["thumbnail_url"])
    assert thumb.status_code == 200 and thumb.mimetype == "image/jpeg"

    listed = token.get(f"/cases/{case.id}").json["attachments"]
    assert [(a["id"], a["stage"], a["caption"]) for a in listed] == [(body["id"], "before", "路面塌陷")]


def test_a_large_photo_is_kept_at_most_2048_px_and_never_under_half_of_it(api, world, store):
    """A JPEG past 2048 px is decoded at libjpeg's 1/2, 1/4 or 1/8 scale: the first within 2048 px."""
    case, token = world.file("group1"), api("group1")
    db.session.commit()
    for size, orientation, fmt, kept in [((4032, 3024), 6, "JPEG", (1512, 2016)),  # 12 MP, held upright
                                         ((2400, 1800), None, "JPEG", (1200, 900)),
                                         ((6000, 4500), None, "JPEG", (1500, 1125)),  # 27 MP, at 1/4
                                         ((2048, 1000), None, "JPEG", (2048, 1000)),
                                         ((3000, 1500), None, "PNG", (2048, 1024))]:
        r = upload(token, case.id, photo(size, orientation, fmt), f"p.{fmt.lower()}")
        assert r.status_code == 201, r.json
        shown = Image.open(io.BytesIO(fetch(token, r.json["url"]).data))
        assert (shown.format, shown.size, dict(shown.getexif())) == ("JPEG", kept, {}), size
        thumb = Image.open(io.BytesIO(fetch(token, r.json["thumbnail_url"]).data))
        assert max(thumb.size) == 320 and (thumb.size[0] > thumb.size[1]) == (kept[0] > kept[1]), size


def test_svg_html_and_files_past_the_limits_are_refused_with_a_message(api, world, store, app):
    case, token = world.file("group1"), api("group1")
    db.session.commit()
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    html = b"<!doctype html><html><body><script>alert(1)</script></body></html>"
    for data, name, stage in [(svg, "p.svg", "before"), (html, "p.jpg", "before"), (html, "a.pdf", "document"),
                              (svg, "a.docx", "document"), (b"%PDF-1.4 ...", "a.pdf", "after")]:
        r = upload(token, case.id, data, name, stage)
        assert r.status_code == 422, (name, stage, r.json)
        assert "请上传照片" in r.json["errors"]["file"]

    r = upload(token, case.id, pixel_bomb())
    assert r.status_code == 422 and "照片超过 50 百万像素" in r.json["errors"]["file"]
    en = token.client.post(f"/api/v1/cases/{case.id}/attachments", content_type="multipart/form-data",
                           headers={**token.headers, "Accept-Language": "en"},
                           data={"file": (io.BytesIO(pixel_bomb()), "p.png"), "stage": "before"})
    assert en.status_code == 422 and "more than 50 million pixels" in en.json["errors"]["file"]

    app.config["ATTACHMENT_MAX_BYTES"] = 256 * 1024  # (10 MB by default) a request the test client keeps in memory
    r = upload(token, case.id, photo() + b"\0" * (256 * 1024 + 1 - len(photo())))
    assert r.status_code == 422 and "文件超过 0.25 MB" in r.json["errors"]["file"]
    assert token.get(f"/cases/{case.id}").json["attachments"] == []


def test_documents_are_pdf_or_office_files_served_as_downloads(api, world, store):
    case, token = world.file("group1"), api("group1")
    db.session.commit()
    out = io.BytesIO()
    Document().save(out)
    pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    for data, name, content_type in [
            (pdf, "整改方案.pdf", "application/pdf"),
            (out.getvalue(), "会议纪要.docx",
             "application/vnd.openxmlformats-officedocument.wordprocessingml.document")]:
        r = upload(token, case.id, data, name, "document")
        assert r.status_code == 201, r.json
        assert r.json["content_type"] == content_type and r.json["thumbnail_url"] is None
        got = fetch(token, r.json["url"])
        assert got.status_code == 200 and got.data == data and got.mimetype == content_type
        assert got.headers["Content-Disposition"].startswith("attachment")
        assert got.headers["X-Content-Type-Options"] == "nosniff"
        assert fetch(token, r.json["url"] + "/thumbnail").status_code == 404


def test_files_are_served_only_to_those_who_may_see_the_case(app, client, auth, api, world, store):
    case = world.file("group1")
    db.session.commit()
    body = upload(api("group1"), case.id, photo()).json
    page_urls = [f"/attachments/{body['id']}", f"/attachments/{body['id']}/thumbnail"]
    sees = {"group1", "member1", "team1", "county"}
    for username in ("group1", "member1", "team1", "county", "group2", "team2", "group3", "dept1",
                     "county12", "admin"):
        token = api(username)
        expected = 200 if username in sees else 404
        for url in (body["url"], body["thumbnail_url"]):
            assert fetch(token, url).status_code == expected, (username, url)
        auth.login(username)
        for url in page_urls:
            r = client.get(url)
            assert r.status_code == expected, (username, url)
        auth.logout()
    # who sees the case but neither holds it nor filed it adds nothing (403); outsiders: 404
    assert upload(api("team1"), case.id, photo()).status_code == 403
    assert upload(api("group2"), case.id, photo()).status_code == 404
    assert upload(api("member1"), case.id, photo()).status_code == 201
    assert fetch(api("group1"), "/api/v1/attachments/99999").status_code == 404


def test_nine_photos_of_a_stage_per_case(api, world, store):
    case, token = world.file("group1"), api("group1")
    db.session.commit()
    for _i in range(9):
        assert upload(token, case.id, photo(orientation=None)).status_code == 201
    r = upload(token, case.id, photo())
    assert r.status_code == 422 and "9" in r.json["errors"]["file"]
    assert upload(token, case.id, photo(), stage="after").status_code == 201


def needs_after_photo(app):
    """The campaign with `resolve` asking for one after-photo (photos: {stage: after, min: 1})."""
    wf = default_workflow()
    wf.transitions[:] = [replace(t, photos=PhotoRule("after", 1)) if t.trigger == "resolve" else t
                         for t in wf.transitions]


def test_a_transition_the_workflow_gives_a_photo_rule_needs_the_photos(app, api, world, store):
    needs_after_photo(app)
    case, token = world.file("group1"), api("group1")
    db.session.commit()
    before = upload(token, case.id, photo(), stage="before").json
    r = token.post(f"/cases/{case.id}/transitions", json={"trigger": "resolve", "version": 1, **FIELDS["resolve"]})
    assert r.status_code == 422 and "photos" in r.json["errors"]
    assert token.get(f"/cases/{case.id}").json["state"] == "group"

    after = upload(token, case.id, photo(), stage="after").json
    r = token.post(f"/cases/{case.id}/transitions", json={"trigger": "resolve", "version": 1, **FIELDS["resolve"]})
    assert r.status_code == 200, r.json
    detail = token.get(f"/cases/{case.id}").json
    resolve_event = detail["events"][-1]
    assert resolve_event["trigger"] == "resolve"
    bound = {a["id"]: a["event"] for a in detail["attachments"]}
    assert bound == {before["id"]: None, after["id"]: resolve_event["id"]}


def test_the_resolve_form_takes_the_after_photos(app, client, auth, world, store):
    needs_after_photo(app)
    case = world.file("group1")
    db.session.commit()
    auth.login("group1")
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert 'capture="environment"' in page and 'name="photos"' in page
    form = {"version": "1", **FIELDS["resolve"]}
    r = client.post(f"/cases/{case.id}/resolve", data=form, content_type="multipart/form-data")
    assert r.status_code == 422 and "photo" in r.get_data(as_text=True)
    r = client.post(f"/cases/{case.id}/resolve", content_type="multipart/form-data",
                    data={**form, "photos": [(io.BytesIO(photo()), "a.jpg")]})
    assert r.status_code == 302, r.get_data(as_text=True)
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert 'data-stage="after"' in page and "/thumbnail" in page


def test_the_case_page_shows_thumbnails_and_takes_uploads_from_the_filing_group(app, client, auth, world, store):
    case = world.file("group1")
    db.session.commit()
    auth.login("member1")
    r = client.post(f"/cases/{case.id}/attachments", content_type="multipart/form-data",
                    data={"stage": "before", "caption": "现场",
                          "file": [(io.BytesIO(photo()), "a.jpg"), (io.BytesIO(photo()), "b.jpg")]})
    assert r.status_code == 302
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert page.count('/thumbnail"') == 2 and "现场" in page
    r = client.post(f"/cases/{case.id}/attachments", content_type="multipart/form-data",
                    data={"stage": "before", "file": [(io.BytesIO(b"<svg/>"), "x.svg")]})
    assert r.status_code == 422 and "x.svg" in r.get_data(as_text=True)
    auth.logout()
    auth.login("county")   # sees the case, neither holds it nor filed it: thumbnails, no form
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert page.count('/thumbnail"') == 2 and 'name="file"' not in page
    assert client.post(f"/cases/{case.id}/attachments", data={}).status_code == 403


def test_the_new_case_form_takes_photos(app, client, auth, world, store):
    auth.login("group1")
    page = client.get("/cases/new").get_data(as_text=True)
    assert 'accept="image/*"' in page and 'capture="environment"' in page and "photos.js" in page
    form = {"category": "infrastructure", "kind": "individual", "title": "村道塌陷", "description": "",
            "resident_name": "", "resident_phone": "", "resident_address": "", "target": ""}
    r = client.post("/cases/new", content_type="multipart/form-data",
                    data={**form, "photos": [(io.BytesIO(b"<html></html>"), "x.html")]})
    assert r.status_code == 422 and "x.html" in r.get_data(as_text=True)
    r = client.post("/cases/new", content_type="multipart/form-data",
                    data={**form, "photos": [(io.BytesIO(photo()), "a.jpg")]})
    assert r.status_code == 302
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert 'data-stage="before"' in page and page.count('/thumbnail"') == 1
