"""The API page renders every operation from local assets under the app's CSP."""
from __future__ import annotations


def test_api_docs_page_lists_every_operation_without_csp_errors(session):
    s = session(None)
    page = s.page
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if "Content Security Policy" in m.text else None)
    outside: list[str] = []
    page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(s.base) else None)
    s.go("/api/docs")
    page.wait_for_selector(".opblock")
    spec = page.request.get(s.base + "/api/v1/openapi.json").json()
    operations = sum(len(ops) for ops in spec["paths"].values())
    assert page.locator(".opblock").count() == operations
    assert problems == [] and outside == []
