"""The tamper-evident audit trail: check every case's chain of event hashes, the case rows
against their sealed heads, and (with a signed checkpoint) that no chain was cut short and no
case removed since the checkpoint was written."""
from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import func, select

from casetrack.db.bulk import driver_rows
from casetrack.extensions import db
from casetrack.long_work import report
from casetrack.models import CaseEvent
from casetrack.models.cases import SEALED_SELECT, audit_key, case_seal

ALTERED = "content altered"
LINK_BROKEN = "link broken: an event before it was removed or altered"
TAIL_MISSING = "missing tail: the case's head names an event that is gone (its newest events were removed)"
ROW_ALTERED = "case row altered: its state, units, deadline, funds or head do not match its seal"
ORPHANED = "case missing: its events remain, its row is gone"
GONE = "case missing: in the checkpoint, not in the database"
CUT_SHORT = "missing tail: the event the checkpoint holds as its head is gone"

_CHECKPOINT_HEADER = "casetrack audit checkpoint 1"


@dataclass
class Finding:
    case_id: int | None
    problem: str
    event_id: int | None = None

    def __str__(self) -> str:
        if self.event_id is not None:
            return f"case_events row {self.event_id} (case {self.case_id}): {self.problem}"
        return f"case {self.case_id}: {self.problem}" if self.case_id is not None else self.problem


def verify_chain(batch: int = 5000, checkpoint: Path | None = None) -> tuple[int, list[Finding]]:
    """(events checked, findings): each event whose content or link does not match its hash,
    each case whose row does not match its seal or whose chain ends before its head, and with
    a `checkpoint` (see `write_checkpoint`) each case it holds that is gone or cut short.

    Events written before migration 0010 carry an unkeyed sha256: accepted only at the start of
    a case's chain, before its first keyed event; the seal written by the migration (keyed)
    holds them to the head they had."""
    key = audit_key()
    findings: list[Finding] = []
    wanted = _read_checkpoint(checkpoint, key, findings) if checkpoint is not None else {}
    last: dict[int, str] = {}
    keyed: set[int] = set()
    reached: set[int] = set()  # cases whose checkpointed head is still in their chain
    checked, after = 0, 0
    last_id = db.session.scalar(select(func.max(CaseEvent.id))) or 0  # ids as the measure: no count(*)
    while True:
        report("events (by id)", after, last_id)
        rows = list(db.session.scalars(select(CaseEvent).where(CaseEvent.id > after)
                                       .order_by(CaseEvent.id).limit(batch)))
        if not rows:
            break
        for ev in rows:
            case_id = ev.case_id
            if ev.prev_hash != last.get(case_id, ""):
                findings.append(Finding(case_id, LINK_BROKEN, ev.id))
            elif ev.hash == ev.digest(key):
                keyed.add(case_id)
            elif case_id in keyed or ev.hash != ev.unkeyed_digest():
                findings.append(Finding(case_id, ALTERED, ev.id))
            if wanted.get(case_id) == ev.hash:
                reached.add(case_id)
            last[case_id] = ev.hash
            checked += 1
        after = rows[-1].id
        db.session.expunge_all()
    report("events (by id)", last_id, last_id)
    present = _check_cases(key, last, findings, batch)
    for case_id in sorted(last.keys() - present):
        findings.append(Finding(case_id, ORPHANED))
    for case_id in sorted(wanted.keys() - reached):
        findings.append(Finding(case_id, CUT_SHORT if case_id in present else GONE))
    return checked, findings


def _check_cases(key: bytes, last: dict[int, str], findings: list[Finding], batch: int) -> set[int]:
    """Each case row against its seal and its chain's last event; returns the ids seen."""
    conn = db.session.connection()
    seen: set[int] = set()
    for case_id, seal, chain_head, *sealed in _case_rows(conn, f"seal, {SEALED_SELECT}", batch):
        seen.add(case_id)
        report("cases", len(seen))
        if seal != case_seal(key, case_id, chain_head, sealed):
            findings.append(Finding(case_id, ROW_ALTERED))
        elif chain_head != last.get(case_id, ""):
            findings.append(Finding(case_id, TAIL_MISSING))
    return seen


def _case_rows(conn, columns: str, batch: int):
    """(id, *columns) of every case, by id, in batches."""
    after = 0
    while True:
        rows = driver_rows(conn, f"SELECT id, {columns} FROM cases WHERE id > {after} ORDER BY id LIMIT {batch}")
        yield from rows
        if len(rows) < batch:
            return
        after = rows[-1][0]


def write_checkpoint(path: Path, batch: int = 5000) -> int:
    """Write every case's head to `path`, signed with the audit key (HMAC-SHA256 of the lines
    above the last); returns the number of cases. Keep it away from the database: checked later
    (`verify_chain(checkpoint=...)`) it names each case removed or cut short since."""
    mac = hmac.new(audit_key(), digestmod=hashlib.sha256)
    written = path.with_name(f".{path.name}.{os.getpid()}")
    n = 0
    with open(written, "w", encoding="ascii") as out:
        def put(line: str) -> None:
            mac.update(line.encode())
            out.write(line)
        put(f"{_CHECKPOINT_HEADER}\nwritten {datetime.now(timezone.utc).isoformat()}\n")
        for case_id, chain_head in _case_rows(db.session.connection(), "chain_head", batch):
            put(f"{case_id} {chain_head}\n")
            n += 1
        out.write(f"hmac {mac.hexdigest()}\n")
    os.replace(written, path)
    return n


def _read_checkpoint(path: Path, key: bytes, findings: list[Finding]) -> dict[int, str]:
    """Case id -> head from a checkpoint whose signature holds; else a finding and nothing."""
    try:
        lines = path.read_bytes().split(b"\n")
        *body, signature, end = lines
        expected = hmac.new(key, b"".join(line + b"\n" for line in body), hashlib.sha256).hexdigest()
        if end or not hmac.compare_digest(signature, f"hmac {expected}".encode()) \
                or body[0].decode() != _CHECKPOINT_HEADER:
            raise ValueError
        return {int(case_id): head for case_id, head in (line.decode().split(" ") for line in body[2:])}
    except (OSError, ValueError, IndexError):
        findings.append(Finding(None, f"checkpoint {path}: unreadable or its signature does not match "
                                      "(altered, or written with another audit key)"))
        return {}
