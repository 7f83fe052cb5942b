"""Administration of webhooks: register a receiver, switch it off, see and retry deliveries."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import StringField

from casetrack.extensions import db
from casetrack.models import Webhook
from casetrack.services.integration import webhooks
from casetrack.web.admin import _get, _require_admin, created
from casetrack.services.casework.cases import MAX_ID, whole_number
from casetrack.web.forms import list_page_size, strip

bp = Blueprint("webhooks", __name__, url_prefix="/admin/webhooks")
bp.before_request(_require_admin)


class WebhookForm(FlaskForm):
    url = StringField(_l("Receiver URL"), filters=[strip])
    secret = StringField(_l("Shared secret (16 characters or more)"), filters=[strip])
    description = StringField(_l("Description"), filters=[strip])


@bp.route("", methods=["GET", "POST"])
def index():
    form = WebhookForm()
    if created(form, lambda: webhooks.register_webhook(form.url.data, form.secret.data, form.description.data),
               lambda hook: _("Webhook registered: %(url)s", url=hook.url)):
        return redirect(url_for(".index"))

    hooks = list(db.session.scalars(select(Webhook).order_by(Webhook.id)))
    before = request.args.get("before", "")
    deliveries, cursor = webhooks.recent_deliveries(
        list_page_size(), int(before) if whole_number(before) and int(before) <= MAX_ID else None)
    return render_template("admin/webhooks.html", form=form, hooks=hooks, deliveries=deliveries,
                           cursor=cursor), 422 if form.errors else 200


@bp.post("/<int:hook_id>/active")
def active(hook_id: int):

    webhooks.set_active(_get(Webhook, hook_id), request.form.get("active") == "1")
    db.session.commit()
    return redirect(url_for(".index"))


@bp.post("/deliveries/<int:delivery_id>/retry")
def retry(delivery_id: int):

    webhooks.retry_now(delivery_id)
    db.session.commit()
    flash(_("The delivery will be tried again on the next run."), "success")
    return redirect(url_for(".index"))
