"""Chinese by default, English one click away, and a Chinese text for every UI string."""
from __future__ import annotations

import shutil

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from flask import Flask

from casetrack import create_app, i18n
from casetrack.config import ROOT
from casetrack.i18n import TRANSLATIONS

ZH_BROWSER = {"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"}


def test_login_page_is_chinese_by_default_and_for_chinese_browsers(client):
    assert "登录" in client.get("/login").text
    assert "登录" in client.get("/login", headers=ZH_BROWSER).text
    assert "登录" in client.get("/login", headers={"Accept-Language": "zh-TW"}).text
    assert "Log in" in client.get("/login", headers={"Accept-Language": "en-GB,en"}).text


def test_language_switch_is_remembered_across_pages_and_login(client, world):
    client.post("/lang/en", headers=ZH_BROWSER)
    assert "Log in" in client.get("/login", headers=ZH_BROWSER).text
    page = client.post("/login", data={"username": "group1", "password": "secret"},
                       headers=ZH_BROWSER, follow_redirects=True)
    assert "Welcome, group1." in page.text and "File a problem" in page.text
    client.post("/lang/zh_Hans")
    page = client.get("/", headers=ZH_BROWSER)
    assert "登记问题" in page.text and "File a problem" not in page.text


def test_validation_messages_of_services_are_translated(client, world):
    client.post("/login", data={"username": "group1", "password": "secret"})
    page = client.post("/cases/new", data={"category": "housing", "kind": "individual", "title": ""})
    assert page.status_code == 422
    assert "请填写此项。" in page.text


def test_every_ui_string_has_a_chinese_translation():
    method_map = [("casetrack/**.py", "python"), ("templates/**.html", "jinja2")]
    keywords = {"_": None, "gettext": None, "_l": None, "lazy_gettext": None, "ngettext": (1, 2)}
    found = {msg[2] if isinstance(msg[2], str) else msg[2][0]
             for msg in extract_from_dir(str(ROOT), method_map, keywords=keywords)}
    with (TRANSLATIONS / "zh_Hans/LC_MESSAGES/messages.po").open("rb") as f:
        catalog = read_po(f)
    translated = {m.id[0] if m.pluralizable else m.id  # a plural is found by its singular
                  for m in catalog if m.id and all(m.string if m.pluralizable else [m.string]) and not m.fuzzy}
    assert len(found) > 90
    assert sorted(found - translated) == []


def _catalogues_without_mo(tmp_path):
    """A copy of the translations as an installed package starts: .po files only."""
    folder = tmp_path / "translations"
    shutil.copytree(TRANSLATIONS, folder, ignore=shutil.ignore_patterns("*.mo"))
    return folder


def test_a_missing_catalogue_is_compiled_at_start_up(database_url, tmp_path):
    folder = _catalogues_without_mo(tmp_path)
    app = create_app({"DATABASE_URL": database_url, "SECRET_KEY": "t", "BABEL_TRANSLATION_DIRECTORIES": str(folder)})
    assert (folder / "zh_Hans/LC_MESSAGES/messages.mo").exists()
    assert "登录" in app.test_client().get("/login", headers=ZH_BROWSER).text


def test_a_read_only_package_gets_its_catalogue_in_the_instance_folder(database_url, tmp_path, monkeypatch,
                                                                        caplog):
    folder = _catalogues_without_mo(tmp_path)
    real = i18n.compile_catalogues

    def read_only(source, out=None):
        if out is None:
            raise PermissionError(13, "Permission denied", str(source))
        return real(source, out)
    monkeypatch.setattr(i18n, "compile_catalogues", read_only)
    monkeypatch.setattr(Flask, "auto_find_instance_path", lambda _app: str(tmp_path / "instance"))
    app = create_app({"DATABASE_URL": database_url, "SECRET_KEY": "t", "BABEL_TRANSLATION_DIRECTORIES": str(folder)})
    assert (tmp_path / "instance/translations/zh_Hans/LC_MESSAGES/messages.mo").exists()
    assert not (folder / "zh_Hans/LC_MESSAGES/messages.mo").exists()
    assert "cannot write the compiled translations" in caplog.text
    assert "登录" in app.test_client().get("/login", headers=ZH_BROWSER).text
