"""Command-line use cases: `flask --app casetrack <command>`; each commits once."""
from __future__ import annotations

import json
import sys
import time
from collections import Counter
from pathlib import Path

import click
from flask import Flask
from sqlalchemy import select

from casetrack import schema
from casetrack.console import progress_bars
from casetrack.db.busy import database_busy
from casetrack.db.intent import write_intent
from casetrack.extensions import db
from casetrack.models import POSTS, ROLE_UNIT_KINDS, User
from casetrack.services.organisation import accounts, org
from casetrack.services.integrity import audit, backup
from casetrack.services.casework import attachments, case_sheets
from casetrack.services.dataset import demo
from casetrack.services.deadlines import sweep
from casetrack.services.fieldwork import sites, visits
from casetrack.services.common.errors import ServiceError
from casetrack.services.integration.sheets import ImportFailed
from casetrack.services.organisation.campaigns import add_categories
from casetrack.workflow import WorkflowError, load_workflow


def _fail(exc: ServiceError) -> None:
    db.session.rollback()
    errors = getattr(exc, "errors", None)
    click.echo(f"error: {exc.message}", err=True)
    for field, message in (errors or {}).items():
        click.echo(f"  {field}: {message}", err=True)
    sys.exit(1)


def _read_through_writers(work, pauses=(0.2, 0.5, 1, 2, 4)):
    """Run a read-only `work` in a deferred transaction (on SQLite a snapshot that waits for no
    writer); on a busy database roll back and try again after each pause in turn."""
    token = write_intent.set(False)
    try:
        for pause in (*pauses, None):
            try:
                return work()
            except Exception as exc:  # a WAL checkpoint or PostgreSQL's lock_timeout
                if not database_busy(exc) or pause is None:
                    raise
                db.session.rollback()
                time.sleep(pause)
    finally:
        write_intent.reset(token)


def deliver(limit: int, claim_next, send, record) -> tuple[int, Counter]:
    """Claim, send and record due outbox rows one at a time, committing around each send so
    no transaction stays open while a receiver answers: (how many were due, their new states)."""
    states: Counter = Counter()
    due = 0
    while due < limit and (out := claim_next()) is not None:
        db.session.commit()
        due += 1
        states[record(out.id, *send(out)).state] += 1
        db.session.commit()
    db.session.commit()
    return due, states


def _size(path: Path) -> str:
    return f"{path.stat().st_size / 2**20:.1f} MB"


def register(app: Flask) -> None:
    @app.cli.command("deliver-webhooks")
    @click.option("--limit", default=100, show_default=True, help="at most this many deliveries in one run")
    def deliver_webhooks(limit: int) -> None:
        """Post the webhook events that are due (run it from cron, e.g. every minute)."""
        from casetrack.services.integration import webhooks
        due, counts = deliver(limit, webhooks.claim_next,
                              lambda out: webhooks.send(out, app.config["WEBHOOK_TIMEOUT"]), webhooks.record)
        click.echo(f"{due} due: {counts['delivered']} delivered, {counts['pending']} to retry, "
                   f"{counts['failed']} failed")

    @app.cli.command("deliver-mail")
    @click.option("--limit", default=200, show_default=True, help="at most this many mails in one run")
    def deliver_mail(limit: int) -> None:
        """Send the notices' mails that are due (run it from cron, e.g. every minute)."""
        from casetrack.services.integration import mail
        if not mail.enabled():
            click.echo("no mail server configured (CASETRACK_MAIL_SERVER); nothing sent")
            return
        due, counts = deliver(limit, mail.claim_next, mail.send, mail.record)
        click.echo(f"{due} due: {counts['sent']} sent, {counts['pending']} to retry, {counts['failed']} failed")

    @app.cli.command("init-db")
    def init_db() -> None:
        """Create or upgrade the tables (alembic upgrade head; idempotent) and the standard categories."""
        done = schema.upgrade()
        added = org.ensure_categories()
        added += add_categories()   # the categories the other campaigns list
        db.session.commit()
        click.echo(f"database ready at {db.engine.url.render_as_string(hide_password=True)}"
                   f": {done} ({added} categories added)")

    @app.cli.command("demo")
    @click.option("--password", default="demo", show_default=True, help="password of every demo account")
    def demo_command(password: str) -> None:
        """Load the demo county once (fixed seed) and print its accounts."""
        try:
            import faker  # noqa: F401
        except ImportError:
            raise click.ClickException("the demo county is made with Faker, which is not installed: "
                                       "pip install 'casetrack[demo]'") from None
        schema.upgrade()
        loaded = demo.load_demo(password)
        click.echo("demo county loaded" if loaded else "demo county already loaded; nothing changed")
        click.echo(f"{'username':<10} {'role':<20} unit")
        for username, role, _code in demo.DEMO_ACCOUNTS:
            user = db.session.scalars(select(User).where(User.username == username)).first()
            if user is not None:
                unit = f"{user.unit.code} {user.unit.name}" if user.unit else "-"
                click.echo(f"{username:<10} {role:<20} {unit}")
        if loaded:
            click.echo(f"password of every account: {password}")
        db.session.commit()
        attachments.process_photos(None, db.session.commit)  # the rectification's photos, as a worker would

    @app.cli.command("generate")
    @click.option("--targets", default=0, show_default=True, help="visit targets to add")
    @click.option("--cases", default=0, show_default=True, help="cases to add (with their events)")
    @click.option("--visits", default=0, show_default=True, help="visits to add")
    @click.option("--seed", default=1, show_default=True, help="the same seed gives the same data")
    @click.option("--password", default="demo", show_default=True,
                  help="password of the accounts made with a new unit tree")
    @click.option("--counties", type=click.IntRange(min=1), default=None,
                  help="with a new unit tree: a city office (CITY) over this many counties")
    def generate_command(targets: int, cases: int, visits: int, seed: int, password: str,
                         counties: int | None) -> None:
        """Add a realistic generated data set fast (bulk inserts); makes a unit tree if none."""
        from casetrack.services.dataset.generate import generate
        started = time.perf_counter()
        schema.upgrade()
        with progress_bars():
            counts = generate(targets, cases, visits, seed=seed, password=password, counties=counties)
            db.session.commit()
        click.echo(f"added {counts.units} units, {counts.users} users, {counts.targets} targets, "
                   f"{counts.visits} visits, {counts.cases} cases, {counts.events} case events "
                   f"in {time.perf_counter() - started:.1f} s")

    @app.cli.command("create-user")
    @click.argument("username")
    @click.option("--role", required=True, type=click.Choice(list(ROLE_UNIT_KINDS)))
    @click.option("--unit", "unit_code", help="the unit's code")
    @click.option("--name", help="the person's name")
    @click.option("--post", type=click.Choice(list(POSTS)),
                  help="a principal leader's or party secretary's post (counted in bulletins)")
    @click.password_option()
    def create_user(username: str, role: str, unit_code: str | None, name: str | None,
                    post: str | None, password: str) -> None:
        """Create a user."""
        try:
            accounts.create_user(username, password, role, unit_code, name, post)
        except ServiceError as exc:
            _fail(exc)
        db.session.commit()
        click.echo(f"user {username} created")

    @app.cli.command("create-token")
    @click.argument("username")
    @click.option("--name", default="cli", help="what the token is for")
    def create_token(username: str, name: str) -> None:
        """Create an API token for a user and print it (it is shown only once)."""
        user = db.session.scalars(select(User).where(User.username == username)).first()
        if user is None or not user.active:
            click.echo(f"error: no active user {username}", err=True)
            sys.exit(1)
        token = accounts.create_token(user, name)
        db.session.commit()
        click.echo(token)

    @app.cli.command("sweep")
    @click.option("--campaign", default=None, help="sweep only this campaign's cases (workflows/campaigns.yaml)")
    def sweep_command(campaign: str | None) -> None:
        """Pre-warn, flag overdue cases and auto-escalate (run it from cron); prints one JSON line.

        Commits after each batch, not once: a batch is complete and idempotent on its own, so
        a sweep stopped half-way leaves whole batches and the next run does the rest; and
        SQLite's write lock is released between batches, so people can still save during a
        long sweep (a first sweep over a province's cases takes minutes)."""
        flows = None
        if campaign is not None:
            from casetrack.services.organisation.campaigns import campaigns
            if campaign not in campaigns().by_code:
                raise click.ClickException(f"no campaign {campaign!r}; known: {', '.join(campaigns().by_code)}")
            flows = campaigns().get(campaign).workflows
        try:
            with progress_bars():
                done = sweep.sweep_deadlines(after_batch=db.session.commit, workflows=flows)
                db.session.commit()
                done["revisits"] = sweep.sweep_revisits(flows)
                db.session.commit()
        except Exception as exc:  # the driver's own error when the lock wait ran out in BEGIN
            if not database_busy(exc):
                raise
            db.session.rollback()
            click.echo("error: the database stayed busy; the batches already done are kept, "
                       "run the sweep again", err=True)
            sys.exit(75)  # EX_TEMPFAIL: cron's next run does the rest
        click.echo(json.dumps(done))

    @app.cli.command("rebuild-summaries")
    def rebuild_summaries() -> None:
        """Recompute the bulletin's daily figures from the cases, events, visits and targets."""
        from casetrack.services.figures import summaries
        rows = summaries.rebuild()
        db.session.commit()
        click.echo(f"{rows} daily figure rows rebuilt")

    @app.cli.command("audit-verify")
    @click.option("--checkpoint", type=click.Path(dir_okay=False),
                  help="a file of every case's head signed with the audit key: written if it does not "
                       "exist (and nothing is wrong), else checked, naming each case removed or cut short since")
    def audit_verify(checkpoint: str | None) -> None:
        """Check the hash chain of every case's events and each case row against its sealed head;
        name each altered or missing row. Reads through concurrent writers (a snapshot, retried
        while the database is busy)."""
        path = Path(checkpoint) if checkpoint else None
        try:
            with progress_bars():
                checked, findings = _read_through_writers(
                    lambda: audit.verify_chain(checkpoint=path if path and path.exists() else None))
        except Exception as exc:
            if not database_busy(exc):
                raise
            db.session.rollback()
            click.echo("error: the database stayed busy; nothing was checked, run audit-verify again",
                       err=True)
            sys.exit(75)  # EX_TEMPFAIL, as sweep
        db.session.rollback()  # ends the read snapshot
        for f in findings:
            click.echo(str(f))
        click.echo(f"{checked} events checked, {len(findings)} problems")
        if path is not None and not path.exists():
            if findings:
                click.echo(f"checkpoint not written to {path}: the problems above come first", err=True)
            else:
                click.echo(f"checkpoint of {audit.write_checkpoint(path)} cases written to {path}")
        sys.exit(1 if findings else 0)

    def _attachments_folder() -> Path | None:
        """The attachments folder, unless the files are kept in the database (and so in its copy)."""
        return None if attachments.in_database() else attachments.folder()

    @app.cli.command("process-photos")
    def process_photos_command() -> None:
        """Process the photos left pending (a worker stopped before it got to them; run it from
        cron, e.g. every 10 minutes), and remove quarantined uploads no pending photo names."""
        done = attachments.process_photos(None, db.session.commit)
        dropped = attachments.drop_orphans()
        click.echo(f"{done['stored'] + done['removed']} photos processed: {done['stored']} stored, "
                   f"{done['removed']} unreadable and removed (said on their case's timeline); "
                   f"{dropped} leftover uploads removed")

    @app.cli.command("backup")
    @click.argument("path", type=click.Path(dir_okay=False))
    def backup_command(path: str) -> None:
        """Take a consistent copy of the database while the app runs (SQLite file or pg_dump -Fc),
        and of the attachments folder beside it (PATH.attachments.tar). Photos still pending are
        processed first, and the quarantine of photos as uploaded (EXIF and all) is not copied."""
        try:
            backup.check_database(app.config["DATABASE_URL"])
        except ServiceError as exc:
            _fail(exc)
        attachments.process_photos(None, db.session.commit)
        db.session.remove()
        started = time.perf_counter()
        try:
            with progress_bars():
                files = backup.backup(app.config["DATABASE_URL"], Path(path), _attachments_folder(),
                                      skip=(attachments.PENDING,))
        except ServiceError as exc:
            _fail(exc)
        click.echo(f"backup written to {path} ({_size(Path(path))}) in {time.perf_counter() - started:.1f} s")
        if _attachments_folder():
            tar = backup.files_beside(Path(path))
            click.echo(f"attachments written to {tar} ({files} files, {_size(tar)})")

    @app.cli.command("restore")
    @click.argument("path", type=click.Path(dir_okay=False, exists=True))
    @click.confirmation_option(prompt="Replace the whole database with this backup?")
    def restore_command(path: str) -> None:
        """Replace the database with a backup taken by `backup` (stop the app first)."""
        db.session.remove()
        db.engine.dispose()
        started = time.perf_counter()
        try:
            with progress_bars():
                files = backup.restore(app.config["DATABASE_URL"], Path(path), _attachments_folder())
        except ServiceError as exc:
            _fail(exc)
        click.echo(f"database restored from {path} in {time.perf_counter() - started:.1f} s"
                   + (f", {files} attachment files put back" if files else ""))

    def _import(service, path: str, username: str, said) -> None:
        """Run an all-or-nothing sheet import as `username`; each bad row on stderr, exit 1."""
        user = db.session.scalars(select(User).where(User.username == username)).first()
        if user is None or not user.active:
            click.echo(f"error: no active user {username}", err=True)
            sys.exit(1)
        started = time.perf_counter()
        try:
            with progress_bars():
                result = service(user, Path(path).name, Path(path).read_bytes())
        except ImportFailed as exc:
            db.session.rollback()
            click.echo(f"error: {exc.message}", err=True)
            for e in exc.errors:
                where = ", ".join(str(p) for p in (f"row {e['row']}" if e["row"] else None, e["column"]) if p)
                click.echo(f"  {where}: {e['message']}" if where else f"  {e['message']}", err=True)
            sys.exit(1)
        except ServiceError as exc:
            _fail(exc)
        db.session.commit()
        click.echo(f"{said(result)} from {path} in {time.perf_counter() - started:.1f} s")

    def import_command(name: str, service, what: str, said) -> None:
        @app.cli.command(name, help=f"{what} from an .xlsx or .csv in its template's layout, all or "
                                    "nothing: any bad row and nothing is imported (each named on stderr).")
        @click.argument("path", type=click.Path(dir_okay=False, exists=True))
        @click.option("--as", "username", required=True,
                      help="the user who imports: the rows must be within their unit's scope")
        def command(path: str, username: str) -> None:
            _import(service, path, username, said)

    @app.cli.command("import-targets", help="Import visit targets (or, with --campaign, that campaign's sites) "
                                            "from an .xlsx or .csv in its template's layout, all or nothing: "
                                            "any bad row and nothing is imported (each named on stderr).")
    @click.argument("path", type=click.Path(dir_okay=False, exists=True))
    @click.option("--as", "username", required=True,
                  help="the user who imports: the rows must be within their unit's scope")
    @click.option("--campaign", default=None, help="another campaign's sites, e.g. rectification "
                                                   "(workflows/campaigns.yaml); default: the grand visit's targets")
    def import_targets_command(path: str, username: str, campaign: str | None) -> None:
        from casetrack.services.organisation.campaigns import campaigns
        if campaign is not None and campaign not in campaigns().by_code:
            raise click.ClickException(f"no campaign {campaign!r}; known: {', '.join(campaigns().by_code)}")
        what = "targets" if campaign in (None, campaigns().default) else "sites"
        _import(sites.importer(campaign), path, username,
                lambda r: f"{r['imported']} {what} imported, {r['updated']} updated")

    import_command("import-visits", visits.import_visits, "Import visits",
                   lambda r: f"{r['imported']} visits imported, {r['skipped']} there already")
    import_command("import-cases", case_sheets.import_cases, "File cases (as a work group's cadre)",
                   lambda filed: f"{len(filed)} cases filed")

    @app.cli.command("bulletin")
    @click.option("--from", "date_from", required=True, type=click.DateTime(["%Y-%m-%d"]))
    @click.option("--to", "date_to", required=True, type=click.DateTime(["%Y-%m-%d"]))
    @click.option("--unit", "unit_code", required=True, help="the county, team or group's code")
    @click.option("--output", required=True, type=click.Path(dir_okay=False), help="the file to write")
    @click.option("--format", "fmt", default="json", show_default=True,
                  type=click.Choice(["html", "xlsx", "docx", "json"]))
    @click.option("--type", "kind", default=None, type=click.Choice(["briefing", "special", "express", "circular"]),
                  help="render it as that type's document (masthead, text from the type's template, 版记)")
    def bulletin_command(date_from, date_to, unit_code: str, output: str, fmt: str, kind: str | None) -> None:
        """Write the bulletin of a period for a unit as HTML, Excel, Word or JSON."""
        from casetrack.models import Unit
        from casetrack.services.reports import bulletin as bl
        from casetrack.services.reports import bulletin_issues as bi
        from casetrack.web.reports import render
        unit = db.session.scalars(select(Unit).where(Unit.code == unit_code)).first()
        if unit is None or unit.kind not in ("county", "city", "province", "team", "group"):
            click.echo(f"error: no county, team or group {unit_code}", err=True)
            sys.exit(1)
        with app.test_request_context():
            period = (date_from.date(), date_to.date())
            figures = bi.unpublished(unit, kind, period) if kind else bl.bulletin(unit, *period)
            data = render(figures, unit, fmt)
        Path(output).write_bytes(data)
        click.echo(f"bulletin of {unit_code} {date_from.date()}..{date_to.date()} written to {output}")

    @app.cli.command("check-workflow")
    @click.argument("path", type=click.Path(dir_okay=False))
    def check_workflow(path: str) -> None:
        """Validate a workflow file and print its states and transitions."""
        try:
            wf = load_workflow(path)
        except WorkflowError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(1)
        click.echo(wf.describe())
