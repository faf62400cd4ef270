#!/usr/bin/env python3
"""Print the cross-check table (markdown) from a crosscheck.sh results dir.

usage: crosscheck_table.py RESULTS_DIR [SUFFIX...]
With suffixes (e.g. -3 -rerun), <scenario>-<server>-<tool><SUFFIX>.log is
used instead of the plain name when it exists (the first suffix that does).
Reads <scenario>-<server>-tsung.log (run.sh's RESULT line + its JSON) and
<scenario>-<server>-xmppbench.log (xmppbench's JSON lines) and prints, per
scenario and server, the figures of both tools and xmppbench/tsung.
"""
import glob
import json
import os
import sys


def tsung_json(log):
    for line in open(log):
        if line.startswith("json: "):
            return json.load(open(line[6:].strip()))
    return None


def xb_json(log):
    last = None
    for line in open(log):
        if line.startswith("{"):
            d = json.loads(line)
            if d.get("kind") == "run":
                last = d
    return last


def loadavg(log, tool):
    for line in open(log):
        if tool == "tsung" and line.startswith("RESULT"):
            for f in line.split():
                if f.startswith("loadavg_before="):
                    return f.split("=")[1].split("/")[0]
        if tool == "xmppbench" and line.startswith("== ") and "loadavg=" in line:
            return line.split("loadavg=")[1].split()[0]
    return "?"


def g(d, *path):
    for p in path:
        if d is None:
            return None
        d = d.get(p)
    return d


CHAT = [("logins ok", ("logins_ok",)), ("login ms p95", ("login_ms", "p95")),
        ("msgs sent", ("msgs_sent",)), ("msgs received", ("msgs_recv_stamped",)),
        ("msg/s steady", ("msg_rate_steady_per_s",)),
        ("latency ms p50", ("msg_latency_ms", "p50")), ("latency ms p95", ("msg_latency_ms", "p95")),
        ("latency ms p99", ("msg_latency_ms", "p99")), ("server CPU %", ("server_cpu_pct_avg",)),
        ("load generator CPU %", None)]
LOGIN = [("sustained logins/s", ("login_sustained_per_s",)), ("ceiling (best 10 s)", ("login_ceiling_10s_per_s",)),
         ("login ms p95 at sustained", ("at_sustained", "login_ms", "p95")),
         ("server CPU % at sustained", ("at_sustained", "server_cpu_pct_avg")),
         ("load generator CPU % at sustained", None),
         ("first failing step /s", ("first_failing_step", "offered_rate_per_s"))]


def fmt(v):
    if v is None:
        return "-"
    if isinstance(v, float):
        return ("%.1f" % v) if abs(v) >= 10 else ("%.2f" % v)
    return str(v)


def pick(d, sc, srv, tool):
    for suf in sys.argv[2:] + [""]:
        p = os.path.join(d, "%s-%s-%s%s.log" % (sc, srv, tool, suf))
        if os.path.exists(p):
            return p
    return os.path.join(d, "%s-%s-%s.log" % (sc, srv, tool))


def main():
    d = sys.argv[1]
    print("| scenario | server | figure | tsung | xmppbench | xmppbench / tsung |")
    print("|---|---|---|---|---|---|")
    for sc, rows in (("chat", CHAT), ("login", LOGIN)):
        for srv in ("prosody", "ejabberd"):
            tl, xl = pick(d, sc, srv, "tsung"), pick(d, sc, srv, "xmppbench")
            if not (os.path.exists(tl) and os.path.exists(xl)):
                continue
            t, x = tsung_json(tl), xb_json(xl)
            for name, path in rows:
                if path is None:
                    tv = g(t, "tsung_cpu_pct_avg") if sc == "chat" else g(t, "at_sustained", "tsung_cpu_pct_avg")
                    xv = g(x, "gen_cpu_pct_avg") if sc == "chat" else g(x, "at_sustained", "gen_cpu_pct_avg")
                else:
                    tv, xv = g(t, *path), g(x, *path)
                ratio = "%.2f" % (xv / tv) if isinstance(tv, (int, float)) and isinstance(xv, (int, float)) and tv else "-"
                print("| %s | %s | %s | %s | %s | %s |" % (sc, srv, name, fmt(tv), fmt(xv), ratio))
            print("| %s | %s | load average before | %s | %s | |" % (sc, srv, loadavg(tl, "tsung"), loadavg(xl, "xmppbench")))


def xb_steps(log):
    return [d for d in (json.loads(l) for l in open(log) if l.startswith("{")) if d.get("kind") == "step"]


def login_steps(d):
    """Per offered step: arrivals, completed logins, p95 and the server's CPU
    time per completed login (ms), which does not depend on how many users a
    tool really started."""
    print()
    print("| server | offered/s | tsung arrived/s | tsung ok/s | xmppbench ok/s | login p95 ms tsung / xmppbench "
          "| server CPU ms per login tsung / xmppbench | ratio |")
    print("|---|---|---|---|---|---|---|---|")
    for srv in ("prosody", "ejabberd"):
        tl, xl = pick(d, "login", srv, "tsung"), pick(d, "login", srv, "xmppbench")
        if not (os.path.exists(tl) and os.path.exists(xl)):
            continue
        t = {s["offered_rate_per_s"]: s for s in (tsung_json(tl) or {}).get("steps", [])}
        x = {s["offered_rate_per_s"]: s for s in xb_steps(xl)}
        for r in sorted(set(t) & set(x)):
            ts, xs = t[r], x[r]
            tc = 10 * ts["server_cpu_pct_avg"] / ts["ok_per_s"] if ts.get("ok_per_s") else None
            xc = 10 * xs["server_cpu_pct_avg"] / xs["ok_per_s"] if xs.get("ok_per_s") else None
            print("| %s | %g | %s | %s | %s | %s / %s | %s / %s | %s |" % (
                srv, r, fmt(ts.get("arrived_per_s")), fmt(ts.get("ok_per_s")), fmt(xs.get("ok_per_s")),
                fmt(g(ts, "login_ms", "p95")), fmt(g(xs, "login_ms", "p95")), fmt(tc), fmt(xc),
                "%.2f" % (xc / tc) if tc and xc else "-"))


if __name__ == "__main__":
    main()
    login_steps(sys.argv[1])
