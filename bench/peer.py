"""casetrack against a real peer, Request Tracker 5, on the same machine, PostgreSQL and client.

`python -m bench peer` (not run by CI, nor by a plain `python -m bench`) needs Debian's
packages: `apt-get install -y request-tracker5 rt5-db-postgresql rt5-standalone starman`. It
starts a throw-away PostgreSQL cluster of its own (tests/pgcluster.py) holding both databases,
so both run on the same settings; writes RT's site config to a temporary RT_SiteConfig.d
(RT_SITE_CONFIG_DIR: nothing in /etc is changed), initialises RT's database with
rt-setup-database, switches RT's mail scrips off and makes a privileged user with the rights
of a queue's staff on the General queue. RT runs under Starman (8 workers, the app preloaded,
no worker restarts), casetrack under gunicorn (2 workers x 4 threads, as bench/http.py), both on
loopback. One client drives both: 8 threads, each with its own keep-alive connection and one
request in flight, in alternating slices (15 s; --quick: 3 s) of each side.

- `peer_create`: casetrack's `POST /api/v1/cases` (a group leader's bearer token) vs RT's
  `POST /REST/2.0/ticket` in the General queue with a requestor (a cookie session from RT's
  login page, as RT's own pages call REST2).
- `peer_transition`: casetrack's `escalate` of a case from its work team to the county office
  (the team leader's token, team01 in the demo) vs RT's `PUT /REST/2.0/ticket/<id>
  {"Status": "open"}`, each request on a case or ticket no request has touched: casetrack's
  from the generated data set, RT's from the create slices (more are made between slices,
  untimed, when too few are left; a slice that runs out ends early and counts its own time).
- `peer_memory`: the RSS of RT's server processes over casetrack's at the end (their PSS too:
  RSS counts the pages a preforked server's workers share once per worker).
Each line gives both sides' p50 and p99, their workers' CPU per request and the auth each used;
then the rows one request of each kind writes (PostgreSQL's statistics over 50 more, untimed),
and the load average before and after.
"""
from __future__ import annotations

import http.client
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import select

from bench.common import Databases, line, measure, populated
from bench.http import _free_port, _p99, _workers_cpu, gunicorn
from casetrack.extensions import db
from casetrack.models import Case, User
from casetrack.services.organisation.accounts import create_token
from casetrack.services.casework.cases import default_workflow

PACKAGES = "request-tracker5 rt5-db-postgresql rt5-standalone starman"
RT_SERVER = Path("/usr/share/request-tracker5/libexec/rt-server")
RT_LIB = "/usr/share/request-tracker5/lib"
NEEDED = [RT_SERVER, Path("/usr/sbin/rt-setup-database"), Path("/usr/bin/starman")]
THREADS = 8
ROUNDS = 4
PROBE = 50  # requests of each kind whose writes are counted, after the timed slices
RT_USER, RT_PASSWORD = "bench", "bench-password-1"
SUBJECT, CONTENT = "村道坑洼，雨天无法通行", "王家组到李家组的路"
CASES = 200_000  # generated beside the filings: about a seventh of them wait with a team (quick: 20k)
# RT's actions that send mail: their scrips are switched off, as casetrack sends none in a request.
MAIL_ACTIONS = ("Autoreply", "Notify", "NotifyAsComment", "NotifyGroup", "NotifyGroupAsComment", "SendForward")

SITE_CONFIG = """\
Set($rtname, 'bench');
Set($Organization, 'bench.invalid');
Set($Timezone, 'UTC');
Set($DatabaseType, 'Pg');
Set($DatabaseHost, '127.0.0.1');
Set($DatabasePort, '{db_port}');
Set($DatabaseName, 'rt5');
Set($DatabaseUser, 'rt_user');
Set($DatabasePassword, 'rt_pass');
Set($DatabaseAdmin, 'postgres');
Set($WebDomain, '127.0.0.1');
Set($WebPort, {web_port});
Set($WebPath, '');
Set($LogToSyslog, undef);
Set($LogToFile, undef);
Set($LogToSTDERR, 'error');
# should any scrip still send, it goes to a file in the temporary folder, not to a mail server
Set($MailCommand, 'mbox');
Set($VarPath, '{var}');
Set($MasonDataDir, '{var}/mason_data');
Set($MasonSessionDir, '{var}/session_data');
1;
"""

# Mail scrips off, then the benchmark's user: privileged, with a staff member's rights on General.
SETUP = f"""
use lib '{RT_LIB}';
use RT; RT::LoadConfig(); RT::Init();
my $scrips = RT::Scrips->new(RT->SystemUser); $scrips->UnLimit;
my $off = 0;
while (my $s = $scrips->Next) {{
    next unless grep {{ $_ eq $s->ActionObj->ExecModule }} qw({' '.join(MAIL_ACTIONS)});
    my ($ok, $msg) = $s->SetDisabled(1); die $msg unless $ok; $off++;
}}
my $u = RT::User->new(RT->SystemUser);
my ($ok, $msg) = $u->Create(Name => '{RT_USER}', Password => '{RT_PASSWORD}', Privileged => 1,
                            EmailAddress => 'bench@example.com');
die $msg unless $ok;
my $q = RT::Queue->new(RT->SystemUser); $q->Load('General');
for my $right (qw(SeeQueue ShowTicket CreateTicket ModifyTicket ReplyToTicket CommentOnTicket)) {{
    my ($ok, $msg) = $u->PrincipalObj->GrantRight(Right => $right, Object => $q); die $msg unless $ok;
}}
print "$off\\n";
"""


class RequestTracker:
    """RT 5 on a database `rt5` of `cluster`, its configuration in a temporary folder."""

    def __init__(self, cluster):
        missing = [str(p) for p in NEEDED if not p.exists()]
        if missing:
            raise SystemExit(f"python -m bench peer needs Request Tracker 5 ({', '.join(missing)} missing): "
                             f"apt-get install -y {PACKAGES}")
        self.root = Path(tempfile.mkdtemp(prefix="casetrack-rt-"))
        self.port = _free_port()
        confdir = self.root / "RT_SiteConfig.d"
        confdir.mkdir()
        (self.root / "var").mkdir()
        (confdir / "50-bench.pm").write_text(SITE_CONFIG.format(db_port=cluster.port, web_port=self.port,
                                                                  var=self.root / "var"))
        (self.root / "RT_SiteConfig.pm").write_text("1;\n")
        self.env = {**os.environ, "RT_SITE_CONFIG": str(self.root / "RT_SiteConfig.pm"),
                    "RT_SITE_CONFIG_DIR": str(confdir)}
        started = time.perf_counter()
        try:
            # the cluster trusts local connections: any DBA password does
            self._run(["/usr/sbin/rt-setup-database", "--action", "init", "--dba", "postgres",
                       "--dba-password", "-"])
            self.scrips_off = int(self._run(["perl", "-e", SETUP]).split()[-1])
        except BaseException:
            self.close()
            raise
        print(f"#   RT's database initialised in {time.perf_counter() - started:.0f} s; "
              f"{self.scrips_off} mail scrips switched off", flush=True)

    def _run(self, command: list[str]) -> str:
        done = subprocess.run(command, env=self.env, capture_output=True, text=True)
        if done.returncode:
            raise SystemExit(f"{command[0]} failed: {done.stdout[-2000:]}{done.stderr[-2000:]}")
        return done.stdout

    @contextmanager
    def serve(self) -> Iterator[subprocess.Popen]:
        """Starman with 8 workers on self.port, answering once RT's login page does."""
        server = subprocess.Popen(["/usr/bin/starman", "--workers", str(THREADS), "--preload-app",
                                   "--max-requests", "1000000", "--listen", f"127.0.0.1:{self.port}",
                                   str(RT_SERVER)], env=self.env, cwd=self.root,
                                  stdout=subprocess.DEVNULL, stderr=open(self.root / "starman.log", "w"))
        try:
            for _ in range(600):
                try:
                    conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                    conn.request("GET", "/NoAuth/Login.html")
                    if conn.getresponse().status == 200:
                        break
                except OSError:
                    pass
                if server.poll() is not None:
                    raise SystemExit(f"starman ended: {(self.root / 'starman.log').read_text()[-2000:]}")
                time.sleep(0.2)
            yield server
        finally:
            server.terminate()
            server.wait(timeout=60)

    def session_cookie(self) -> str:
        """Log in through RT's login page: the session cookie its pages send with REST2 calls."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        conn.request("POST", "/NoAuth/Login.html", body=f"user={RT_USER}&pass={RT_PASSWORD}",
                     headers={"Content-Type": "application/x-www-form-urlencoded",
                              "Referer": f"http://127.0.0.1:{self.port}/NoAuth/Login.html"})
        response = conn.getresponse()
        response.read()
        cookie = response.getheader("Set-Cookie", "").split(";")[0]
        conn.request("GET", "/REST/2.0/queue/General", headers={"Cookie": cookie})
        check = conn.getresponse()
        check.read()
        if check.status != 200:
            raise SystemExit(f"RT's login answered {response.status}, then REST2 {check.status}")
        return cookie

    def close(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


Request = tuple[str, str, bytes | None, dict]


def drive(port: int, next_request: Callable[[], Request | None], seconds: float, expect: int,
          on_body: Callable[[bytes], None] | None = None) -> tuple[float, list[float], int]:
    """THREADS threads, each with one keep-alive connection and one request in flight, until
    `seconds` have passed or `next_request` has none left: (seconds taken, every latency,
    reconnections)."""
    latencies: list[list[float]] = [[] for _ in range(THREADS)]
    errors: list[str] = []
    reconnects = [0]
    deadline = time.perf_counter() + seconds

    def worker(mine: list[float]) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        while time.perf_counter() < deadline and not errors:
            request = next_request()
            if request is None:
                break
            method, path, body, headers = request
            start = time.perf_counter()
            for attempt in (1, 2):   # a server may close an idle keep-alive connection: open another
                try:
                    conn.request(method, path, body=body, headers=headers)
                    response = conn.getresponse()
                    data = response.read()
                    break
                except (http.client.RemoteDisconnected, ConnectionError):
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                    reconnects[0] += 1
                    if attempt == 2:
                        raise
            mine.append(time.perf_counter() - start)
            if response.status != expect:
                errors.append(f"{method} {path}: {response.status} {data[:300]!r}")
            elif on_body:
                on_body(data)
        conn.close()

    threads = [threading.Thread(target=worker, args=(mine,)) for mine in latencies]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise SystemExit(f"{len(errors)} failed requests, e.g. {errors[0]}")
    return elapsed, [x for mine in latencies for x in mine], reconnects[0]


def pool(items: list) -> Callable[[], object]:
    """Hand out each item once, to any thread; None when none are left."""
    lock = threading.Lock()

    def take():
        with lock:
            return items.pop() if items else None
    return take


def memory(master: int) -> tuple[float, float]:
    """MiB of RSS and of PSS of a server: its master and every process under it."""
    pids, found = {master}, True
    while found:
        found = False
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                pid, parent = int(stat.parent.name), int(stat.read_text().rpartition(")")[2].split()[1])
            except (OSError, ValueError):
                continue
            if parent in pids and pid not in pids:
                pids.add(pid)
                found = True
    rss = pss = 0
    for pid in pids:
        try:
            for row in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if row.startswith("Rss:"):
                    rss += int(row.split()[1])
                elif row.startswith("Pss:"):
                    pss += int(row.split()[1])
        except OSError:
            continue
    return rss / 1024, pss / 1024


class Side:
    """One system's requests of one kind: their latencies, time and workers' CPU."""

    def __init__(self, name: str, auth: str):
        self.name, self.auth = name, auth
        self.latencies: list[float] = []
        self.seconds = self.cpu = 0.0
        self.reconnects = 0

    def slice(self, port: int, master: int, next_request, seconds: float, expect: int, on_body=None) -> None:
        cpu = _workers_cpu(master)
        elapsed, taken, reconnects = drive(port, next_request, seconds, expect, on_body)
        self.cpu += _workers_cpu(master) - cpu
        self.seconds += elapsed
        self.latencies += taken
        self.reconnects += reconnects

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds

    def __str__(self) -> str:
        done = sorted(self.latencies)
        return (f"{self.name} {self.rate:.1f} req/s (p50 {1000 * done[len(done) // 2]:.1f} ms, p99 "
                f"{1000 * _p99(done):.1f} ms, workers' CPU {1000 * self.cpu / len(done):.2f} ms/req, "
                f"{len(done)} requests in {self.seconds:.0f} s, {self.reconnects} reconnections; {self.auth})")


def _casetrack_data(url: str) -> tuple[str, list[tuple[int, int, str]]]:
    """A group leader's token (filing), and the cases waiting with a work team, each with its
    version and its team leader's token (escalating)."""
    with populated(url):
        wf = default_workflow()
        leader = db.session.scalars(select(User).where(User.role == "group_leader").order_by(User.id)).first()
        tokens = {}
        for user in db.session.scalars(select(User).where(User.role == "team_leader", User.active)
                                       .order_by(User.id)):
            tokens.setdefault(user.unit_id, create_token(user, "bench"))
        file_token = create_token(leader, "bench")
        waiting = [(cid, version, tokens[unit]) for cid, version, unit in db.session.execute(
            select(Case.id, Case.version, Case.unit_id).where(Case.state == "team", Case.workflow == wf.name,
                                                              Case.parent_id.is_(None), Case.unit_id.in_(tokens))
            .order_by(Case.id))]
        db.session.commit()
    return file_token, waiting


def writes(port: int, database: str) -> dict[str, list[int]]:
    """Rows inserted, updated and deleted so far per table of `database` (PostgreSQL's statistics)."""
    import psycopg
    with psycopg.connect(host="127.0.0.1", port=port, user="postgres", dbname=database) as conn:
        return {name: [i, u, d] for name, i, u, d in conn.execute(
            "SELECT relname, n_tup_ins, n_tup_upd, n_tup_del FROM pg_stat_user_tables")}


def per_request(before: dict, after: dict, n: int) -> str:
    """The rows one request wrote, table by table: +inserted ~updated -deleted."""
    out = []
    for name in sorted(after):
        change = [(a - b) / n for a, b in zip(after[name], before.get(name, [0, 0, 0]))]
        if any(change):
            out.append(name + "".join(f" {sign}{x:.1f}" for sign, x in zip("+~-", change) if x))
    return ", ".join(out)


def probe(cluster_port: int, sides: list[tuple[str, str, Callable[[], None]]]) -> None:
    """Print the rows each side's request writes: `sides` (label, database, run n requests)."""
    before = {database: writes(cluster_port, database) for _label, database, _go in sides}
    for _label, _database, go in sides:
        go()
    time.sleep(11)   # a backend reports its statistics within 10 s of going idle
    for label, database, _go in sides:
        print(f"#   {label}: {per_request(before[database], writes(cluster_port, database), PROBE)}", flush=True)


def county_cases(url: str) -> int:
    with populated(url):
        return db.session.scalar(select(db.func.count()).where(Case.state == "county"))


class Requests:
    """The requests of both sides: each call gives one, None when its pool is empty."""

    def __init__(self, rt_port: int, cookie: str, file_token: str, waiting: list[tuple[int, int, str]]):
        self.rt = {"Cookie": cookie, "Origin": f"http://127.0.0.1:{rt_port}", "Content-Type": "application/json"}
        self.filing = ("POST", "/api/v1/cases", json.dumps(
            {"title": SUBJECT, "category": "infrastructure", "kind": "individual", "description": CONTENT,
             "resident": {"name": "张三", "phone": "13800000000"}}).encode(),
            {"Authorization": f"Bearer {file_token}", "Content-Type": "application/json"})
        self.ticket = ("POST", "/REST/2.0/ticket", json.dumps(
            {"Queue": "General", "Subject": SUBJECT, "Content": CONTENT,
             "Requestor": "zhangsan@example.com"}).encode(), self.rt)
        self.take_case = pool(waiting[::-1])       # in id order
        self.tickets: list[int] = []                # made, in the order made
        self.fresh: list[int] = []                  # made and not yet opened, the next last
        self.take_ticket = pool(self.fresh)
        self.opened = self.escalated = 0

    def file_case(self) -> Request:
        return self.filing

    def new_ticket(self) -> Request:
        return self.ticket

    def made(self, body: bytes) -> None:
        """A ticket made (the answer to new_ticket): opened later, by a request of its own."""
        tid = json.loads(body)["id"]
        self.tickets.append(tid)
        self.fresh.insert(0, tid)

    def escalate(self) -> Request | None:
        item = self.take_case()
        if item is None:
            return None
        cid, version, token = item
        self.escalated += 1
        return ("POST", f"/api/v1/cases/{cid}/transitions",
                json.dumps({"trigger": "escalate", "version": version, "reason": "需要县活动办协调"}).encode(),
                {"Authorization": f"Bearer {token}", "Content-Type": "application/json"})

    def open_ticket(self) -> Request | None:
        tid = self.take_ticket()
        if tid is None:
            return None
        self.opened += 1
        return ("PUT", f"/REST/2.0/ticket/{tid}", json.dumps({"Status": "open"}).encode(), self.rt)


def some(make: Callable[[], Request | None], n: int) -> Callable[[], Request | None]:
    """The first `n` requests of `make`."""
    left, lock = [n], threading.Lock()

    def take() -> Request | None:
        with lock:
            if not left[0]:
                return None
            left[0] -= 1
        return make()
    return take


def run(_databases, quick: bool) -> bool:
    """The peer comparison on a cluster of its own (whatever engine the other benchmarks use)."""
    seconds = 3 if quick else 15
    rounds = 2 if quick else ROUNDS
    load_before = os.getloadavg()
    databases = Databases(pg=True)
    rt = None
    try:
        url = databases.data(cases=20_000 if quick else CASES)
        file_token, waiting = _casetrack_data(url)
        at_county = county_cases(url)
        rt = RequestTracker(databases.cluster)
        with gunicorn(url) as (ct_port, ct_server), rt.serve() as rt_server:
            req = Requests(rt.port, rt.session_cookie(), file_token, waiting)
            ct, rt_ = (ct_port, ct_server.pid), (rt.port, rt_server.pid)
            # Warm every worker of both on every path: RT compiles its pages per worker on first use.
            warm = 5 * THREADS
            drive(ct[0], some(req.file_case, warm), 600, 201)
            drive(rt_[0], some(req.new_ticket, 2 * warm), 600, 201, req.made)
            drive(ct[0], some(req.escalate, warm), 600, 200)
            drive(rt_[0], some(req.open_ticket, warm), 600, 200)
            auth = {"casetrack": "bearer token", "RT": "cookie session from RT's login page"}
            create = [Side(name, how) for name, how in auth.items()]
            transition = [Side(name, how) for name, how in auth.items()]
            for r in range(rounds):   # alternate slices, each side first in turn
                for side, (port, master), make, on_body in [
                        (create[0], ct, req.file_case, None),
                        (create[1], rt_, req.new_ticket, req.made)][::1 if r % 2 == 0 else -1]:
                    side.slice(port, master, make, seconds, 201, on_body)
            for r in range(rounds):
                # new tickets enough for a slice at the rate seen (before any: thrice RT's filing
                # rate), made untimed; a slice that runs out still counts its requests and its time
                rate = transition[1].rate if transition[1].latencies else 3 * create[1].rate
                wanted = int(rate * seconds * 1.3)
                if len(req.fresh) < wanted:
                    drive(rt_[0], some(req.new_ticket, wanted - len(req.fresh)), 3600, 201, req.made)
                for side, (port, master), make in [(transition[0], ct, req.escalate),
                                                   (transition[1], rt_, req.open_ticket)][::1 if r % 2 == 0 else -1]:
                    side.slice(port, master, make, seconds, 200)
            rt_memory, ct_memory = memory(rt_server.pid), memory(ct_server.pid)
            pg_port, ct_db = databases.cluster.port, url.rsplit("/", 1)[1]
            print(f"# rows written per request (+inserted ~updated -deleted), {PROBE} requests each:", flush=True)
            probe(pg_port, [("RT, a ticket created", "rt5",
                             lambda: drive(rt_[0], some(req.new_ticket, PROBE), 600, 201, req.made)),
                            ("casetrack, a case filed", ct_db,
                             lambda: drive(ct[0], some(req.file_case, PROBE), 600, 201))])
            probe(pg_port, [("RT, a ticket opened", "rt5",
                             lambda: drive(rt_[0], some(req.open_ticket, PROBE), 600, 200)),
                            ("casetrack, a case escalated", ct_db,
                             lambda: drive(ct[0], some(req.escalate, PROBE), 600, 200))])
        load_after = os.getloadavg()
        assert county_cases(url) - at_county == req.escalated, "escalations missing"
        import psycopg
        with psycopg.connect(host="127.0.0.1", port=databases.cluster.port, user="postgres", dbname="rt5") as conn:
            now_open = conn.execute("SELECT count(*) FROM tickets WHERE status = 'open'").fetchone()[0]
        assert now_open == req.opened, (now_open, req.opened)
    finally:
        if rt:
            rt.close()
        databases.close()
    slices = f"{rounds} alternate slices of {seconds} s each, {THREADS} client threads with keep-alive"
    ok = line("peer_create", create[0].rate / create[1].rate, ">=", 10,
              f"{create[0]}; {create[1]}; {slices}")
    ok = line("peer_transition", transition[0].rate / transition[1].rate, ">=", 3,
              f"{transition[0]}; {transition[1]}; {slices}") and ok
    measure("peer_memory", rt_memory[0] / ct_memory[0],
            f"RSS at the end: RT {rt_memory[0]:.0f} MiB (PSS {rt_memory[1]:.0f}), casetrack {ct_memory[0]:.0f} MiB "
            f"(PSS {ct_memory[1]:.0f}); Starman 8 workers, gunicorn 2 workers x 4 threads")
    print(f"# load average before {' '.join(f'{x:.2f}' for x in load_before)}, "
          f"after {' '.join(f'{x:.2f}' for x in load_after)}", flush=True)
    return ok
