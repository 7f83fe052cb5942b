"""python -m bench [--quick | --province | --scale N] [--pg] [names...]: run the benchmarks, one ratio line each.
`python -m bench peer` (only when named) compares casetrack with Request Tracker 5 (bench/peer.py)."""
from __future__ import annotations

import argparse
import platform
import signal
import sys
import time
from datetime import datetime, timezone

from bench import bulletin, case_list, common, coverage, field, fire, http, peer, sweep, target_import
from bench.common import Databases
from casetrack.console import progress_bars
from casetrack.long_work import report

BENCHMARKS = {"fire_transition": fire.run, "case_list": case_list.run,
              "file_case_http": http.run, "transition_http": http.run_transition,
              "sweep": sweep.run, "sweep_all_due": sweep.run_all_due,
              "coverage": coverage.run, "target_import": target_import.run, "bulletin": bulletin.run,
              "photo_upload": field.run_photo, "offline_replay": field.run_replay}
# Run only when named: it needs Debian's Request Tracker packages and a cluster of its own.
NAMED_ONLY = {"peer": peer.run}


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes (a few minutes)")
    parser.add_argument("--province", action="store_true",
                        help=f"{common.PROVINCE}x the cases where the full size has 1M (case_list, file_case_http, "
                             "sweep, bulletin; coverage's targets and visits stay 600k and 3M beside 5M cases); "
                             "fire_transition on case_list's 5M cases, target_import unchanged")
    parser.add_argument("--scale", type=int, metavar="N",
                        help="N times the cases where the full size has 1M (e.g. 25: 25M cases), in ONE data set "
                             "(the bulletin's: 600k targets, 3M visits) shared by case_list, file_case_http, "
                             "fire_transition, bulletin and coverage, written in place (no copy: name the benchmarks that "
                             "write, file_case_http, coverage and fire_transition, last), so that one machine's disk holds it")
    parser.add_argument("--pg", action="store_true", help="on a throw-away PostgreSQL cluster")
    parser.add_argument("names", nargs="*", choices=[[], *BENCHMARKS, *NAMED_ONLY], metavar="name",
                        help=f"run only these ({', '.join(BENCHMARKS)}; and, only when named, "
                             f"{', '.join(NAMED_ONLY)})")
    args = parser.parse_args()
    if sum(map(bool, (args.province, args.quick, args.scale))) > 1:
        parser.error("one of --quick, --province and --scale")
    common.scale = args.scale or (common.PROVINCE if args.province else 1)
    common.one_data_set = bool(args.scale)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # still stop the PostgreSQL cluster
    started = time.perf_counter()
    size = "quick" if args.quick else "province" if args.province else f"{args.scale}x" if args.scale else "full"
    print(f"# {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, {platform.node()}, "
          f"{platform.processor() or platform.machine()}, python {platform.python_version()}, "
          f"{'PostgreSQL' if args.pg or args.names == ['peer'] else 'SQLite'}, {size} size", flush=True)
    databases = Databases(args.pg)
    names = args.names or list(BENCHMARKS)
    results = []
    try:
        with progress_bars():  # on a terminal: which benchmark, and the data sets being generated
            for done, name in enumerate(names):
                report("benchmarks", done, len(names))
                results.append({**BENCHMARKS, **NAMED_ONLY}[name](databases, args.quick))
            report("benchmarks", len(names), len(names))
    finally:
        databases.close()
    print(f"# {sum(results)}/{len(results)} met their targets in {time.perf_counter() - started:.0f} s")
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
