"""The installable web app: its manifest and the service worker that keeps the field pages'
shells on the phone (static/offline.js queues what is filed without a signal)."""
from __future__ import annotations

import json

from flask import Blueprint, Response, render_template, url_for
from flask_babel import gettext as _

bp = Blueprint("offline", __name__)

# The pages a cadre uses in the field, by endpoint: my inbox, new case, new visit, my targets.
FIELD_PAGES = ("cases.index", "cases.new", "visits.new_visit", "visits.targets")
STATIC_FILES = ("app.css", "offline.js", "photos.js", "locate.js", "filing.js", "icons/icon-192.png", "icons/icon-512.png")
CACHE = "casetrack-v1"


@bp.get("/manifest.webmanifest")
def manifest():
    icons = [{"src": url_for("static", filename=f"icons/icon-{side}.png"), "sizes": f"{side}x{side}",
              "type": "image/png", "purpose": "any"} for side in (192, 512)]
    body = {"name": _("Grand-visit case tracker"), "short_name": _("Grand visit"),
            "start_url": url_for("cases.index"), "scope": "/", "display": "standalone",
            "background_color": "#f4f6f8", "theme_color": "#b3261e", "icons": icons}
    return Response(json.dumps(body, ensure_ascii=False), mimetype="application/manifest+json",
                    headers={"Cache-Control": "no-cache"})


@bp.get("/sw.js")
def service_worker():
    """From the root, so its scope is the whole app; never cached, so a new version is seen."""
    script = render_template("offline/sw.js", cache=CACHE,
                             pages=[url_for(e) for e in FIELD_PAGES],
                             static=[url_for("static", filename=f) for f in STATIC_FILES],
                             static_prefix=url_for("static", filename=""))
    return Response(script, mimetype="text/javascript",
                    headers={"Cache-Control": "no-cache", "Service-Worker-Allowed": "/"})
