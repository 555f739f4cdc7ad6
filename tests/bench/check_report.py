#!/usr/bin/env python3
"""Runs a pdm-bench command line and checks its JSON report.

    check_report.py BENCHMARK COMMAND...

The report must be one JSON object on stdout with the fields the benchmark
documents, every latency summary ordered (p50 <= p99 <= max) and positive,
and every rate positive. Exit 0 if so, 1 with the reason otherwise.
"""
import json
import subprocess
import sys


def fail(message, run=None):
    print(f"FAIL: {message}", file=sys.stderr)
    if run is not None:
        print("---- stdout\n" + run.stdout + "\n---- stderr\n" + run.stderr, file=sys.stderr)
    sys.exit(1)


def check_latency(report, key, run):
    summary = report.get(key)
    if not isinstance(summary, dict) or set(summary) != {"p50", "p99", "max"}:
        fail(f"{key}: expected p50/p99/max, got {summary!r}", run)
    if not 0 < summary["p50"] <= summary["p99"] <= summary["max"]:
        fail(f"{key}: not 0 < p50 <= p99 <= max: {summary}", run)


def check_events(report, run):
    for key in ("mpi_ping_pong_us", "sync_round_trip_us", "local_round_trip_us",
                "session_create_us"):
        check_latency(report, key, run)
    rates = report["async_events_per_second"]
    if not rates["median"] > 0 or len(rates["runs"]) != report["repeat"]:
        fail(f"async_events_per_second: {rates}", run)
    ratio = report["ratio"]["sync_p50_over_ping_pong_p50"]
    if not ratio > 0:
        fail(f"ratio: {ratio}", run)
    if report["target"]["met"] != (ratio <= report["target"]["sync_p50_over_ping_pong_p50_max"]):
        fail(f"target.met disagrees with the ratio: {report['target']}", run)


def check_mpiio(report, run):
    cases = report.get("cases")
    if not isinstance(cases, list) or not cases:
        fail(f"cases: {cases!r}", run)
    if not isinstance(report.get("lazy_size"), bool):
        fail(f"lazy_size: {report.get('lazy_size')!r}", run)
    if report.get("cb") not in ("automatic", "enable", "disable"):
        fail(f"cb: {report.get('cb')!r}", run)
    if any(case["layout"] == "strided" for case in cases):
        if not isinstance(report.get("piece"), int) or report["piece"] <= 0:
            fail(f"piece: {report.get('piece')!r}", run)
    met = True
    for case in cases:
        for side in ("pdm_mib_s", "native_mib_s"):
            for phase in ("write", "read"):
                if not case[side][phase] > 0:
                    fail(f"{case['transfer']} {case['layout']} {case['mode']}: {side}.{phase} "
                         f"is {case[side][phase]}", run)
        # Every phase opens and closes its file: that takes some time.
        for side in ("pdm_open_close_ms", "native_open_close_ms"):
            for phase in ("write", "read"):
                if not case[side][phase] > 0:
                    fail(f"{case['transfer']} {case['layout']} {case['mode']}: {side}.{phase} "
                         f"is {case[side][phase]}", run)
        if case["transfer"] >= report["target"]["transfer_min"]:
            met = met and min(case["ratio"].values()) >= report["target"]["ratio_min"]
    large = [c for c in cases if c["transfer"] >= report["target"]["transfer_min"]]
    expected = met if large else None
    if report["target"]["met"] != expected:
        fail(f"target.met disagrees with the ratios: {report['target']}", run)


def check_rates(rates, key, repeat, run):
    if not rates["median"] > 0 or len(rates["runs"]) != repeat or min(rates["runs"]) <= 0:
        fail(f"{key}: {rates}", run)


def check_hsm(report, run):
    repeat = report["repeat"]
    for group, sides in (("migration_mib_s", ("cp", "hdf5", "posix")),
                         ("recall_mib_s", ("resident", "hdf5", "posix")),
                         ("scan_files_per_s", ("find", "pdm_walk", "pdm_hsm"))):
        for side in sides:
            check_rates(report[group][side], f"{group}.{side}", repeat, run)
    for side in ("resident", "hdf5", "posix"):
        check_latency(report["first_read_latency_us"], side, run)
    for group in ("migration_ratio", "recall_ratio"):
        if not all(value > 0 for value in report[group].values()):
            fail(f"{group}: {report[group]}", run)
    if not report["scan_ratio"] > 0:
        fail(f"scan_ratio: {report['scan_ratio']}", run)
    # The verification: every read compared with its data, one recall per released file read.
    recalls = report["recalls"]
    expected = repeat * 2 * (report["files_per_rank"] + report["small_files_per_rank"]) \
        * report["ranks"]
    if report["verified"] is not True or recalls["made"] != expected \
            or recalls["expected"] != expected:
        fail(f"verification: verified={report['verified']}, recalls={recalls}", run)
    if not 1 <= recalls["peak_per_rank"] <= report["max_recalls"]:
        fail(f"recalls.peak_per_rank: {recalls}", run)


def check_failover(report, run):
    heartbeat = report["heartbeat_timeout_s"]
    if not heartbeat > 0 or report["view_epoch"] < 2:
        fail(f"heartbeat_timeout_s {heartbeat}, view_epoch {report['view_epoch']}", run)
    for key in ("view_change_s", "metadata_serving_s", "io_resumed_s", "session_takeover_s",
                "standby_takeover_s"):
        seconds = report["since_kill"][key]
        if not seconds > 0:
            fail(f"since_kill.{key}: {seconds}", run)
        if abs(report["ratio_to_heartbeat_timeout"][key] - seconds / heartbeat) > 1e-9:
            fail(f"ratio_to_heartbeat_timeout.{key} is not {seconds} / {heartbeat}", run)


CHECKS = {"events": check_events, "mpiio": check_mpiio, "hsm": check_hsm,
          "failover": check_failover}


def main():
    if len(sys.argv) < 3 or sys.argv[1] not in CHECKS:
        print(__doc__, file=sys.stderr)
        return 2
    run = subprocess.run(sys.argv[2:], capture_output=True, text=True, timeout=280)
    if run.returncode != 0:
        fail(f"exit status {run.returncode}", run)
    try:
        report = json.loads(run.stdout)
    except json.JSONDecodeError as error:
        fail(f"stdout is not one JSON object: {error}", run)
    if report.get("benchmark") != sys.argv[1]:
        fail(f"benchmark is {report.get('benchmark')!r}", run)
    CHECKS[sys.argv[1]](report, run)
    print(f"bench {sys.argv[1]}: report ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
