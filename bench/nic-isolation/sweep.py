#!/usr/bin/env python3
"""The measuring half of bench/nic-isolation (run.sh sets up the rigs).

For each offered load (Mb/s of 1024-byte echo payloads), repeat and
configuration, interleaved: runs `uldd-bench-nic-echo-load` (nic_echo_load.cc:
a paced sender thread and a receiver thread) open-loop at that rate in the
configuration's client namespace and accounts the CPU time of
every process of the stack over the run: the supervisor with all its threads
(the shim, and the driver when colocated), its children (driver process,
uldd-hw model), the echo server and the client. CPU time comes from
/proc/PID/task/*/schedstat (nanoseconds; /proc/PID/stat ticks are 10 ms, too
coarse for a 2 s point) and the client's rusage; wake-ups are the voluntary
context switches of the same tasks.

Achieved echo throughput = intact echoes x payload bits / the offered
duration (or the time sending really took if the sender fell behind).

Prints a table and the SUMMARY line last; writes everything as JSON.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

PAYLOAD = 1024
DEFAULT_LOADS = [10, 50, 100, 200, 300, 400, 500, 600, 800, 1000]
QUICK_LOADS = [20, 200, 500, 1000]
DRAIN_MS = 300  # late echoes still count; the CPU window includes this idle tail
SUSTAINED = 0.98  # a load is sustained while >= 98% of the datagrams come back


def parse_config(spec):
    name, *kvs = spec.split(":")
    cfg = {"name": name}
    for kv in kvs:
        k, v = kv.split("=", 1)
        cfg[k] = v
    return cfg


def descendants(root):
    """root and every process below it (scanning /proc: no children files here)."""
    parent = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                s = f.read()
            parent[int(d)] = int(s[s.rindex(")") + 2:].split()[1])
        except (OSError, ValueError):
            continue
    out, todo = [], [root]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += [c for c, pp in parent.items() if pp == p]
    return out


def comm(pid):
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return "?"


def role_of(pid, cfg):
    if str(pid) == cfg.get("supervisor"):
        return "supervisor"
    if str(pid) == cfg.get("server"):
        return "server"
    c = comm(pid)
    if c.startswith("uldd-e1000"):
        return "driver"
    if c.startswith("uldd-hw"):
        return "model"
    return "other"


def task_figures(pid):
    """(cpu ns, voluntary switches) summed over the threads of pid."""
    ns = vol = 0
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return 0, 0
    for t in tids:
        try:
            with open(f"/proc/{pid}/task/{t}/schedstat") as f:
                ns += int(f.read().split()[0])
            with open(f"/proc/{pid}/task/{t}/status") as f:
                for line in f:
                    if line.startswith("voluntary_ctxt_switches"):
                        vol += int(line.split()[1])
        except (OSError, ValueError, IndexError):
            continue
    return ns, vol


def snapshot(cfg):
    roots = [int(cfg["server"])]
    if "supervisor" in cfg:
        roots += descendants(int(cfg["supervisor"]))
    snap = {}
    for pid in roots:
        snap[pid] = (role_of(pid, cfg),) + task_figures(pid)
    return snap


def read_stats(cfg):
    if "stats" not in cfg:
        return {}
    try:
        with open(cfg["stats"]) as f:
            return {k: int(v) if v.isdigit() else v
                    for k, v in (line.strip().split("=", 1) for line in f if "=" in line)}
    except OSError:
        return {}


def run_point(cfg, bin_dir, load_mbps, seconds, tmp):
    rate = max(1, round(load_mbps * 1e6 / (PAYLOAD * 8)))
    out_json = os.path.join(tmp, "load.json")
    before = snapshot(cfg)
    t0 = time.monotonic()
    proc = subprocess.Popen(
        ["ip", "netns", "exec", cfg["netns"], f"{bin_dir}/uldd-bench-nic-echo-load",
         "--to", "198.18.0.2", "--port", "7007", "--size", str(PAYLOAD), "--rate", str(rate),
         "--seconds", str(seconds), "--drain-ms", str(DRAIN_MS), "--json", out_json],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # `ip netns exec` execs the generator in place: its rusage is the client's.
    _, status, ru = os.wait4(proc.pid, 0)
    wall = time.monotonic() - t0
    after = snapshot(cfg)
    if status != 0:
        sys.exit(f"{cfg['name']}: load generator failed (status {status})")
    with open(out_json) as f:
        c = json.load(f)
    cpu = {"client": ru.ru_utime + ru.ru_stime}
    wakeups = {"client": ru.ru_nvcsw}
    for pid, (role, ns, vol) in after.items():
        _, ns0, vol0 = before.get(pid, (role, 0, 0))
        cpu[role] = cpu.get(role, 0) + (ns - ns0) / 1e9
        wakeups[role] = wakeups.get(role, 0) + (vol - vol0)
    active = c["seconds"]  # the offered duration, or longer if the sender fell behind
    echoed = c["echoed"]
    count = c["sent"]
    total_cpu = sum(cpu.values())
    return {
        "offered_mbps": load_mbps, "offered_pps": rate, "sent": c["sent"], "echoed": echoed,
        "lost": c["lost"], "corrupt": c["corrupt"], "seconds": active, "wall_s": wall,
        "echo_mbps": c["echo_mbps"], "sent_pps": c["sent_pps"],
        "echo_fraction": echoed / count,
        "cpu_s": cpu, "cpu_s_total": total_cpu,
        # % of one CPU over the measured window, like the paper's utilisation
        "cpu_percent": 100 * total_cpu / wall,
        "cpu_us_per_echo": 1e6 * total_cpu / echoed if echoed else None,
        "cpu_us_per_echo_no_client":
            1e6 * (total_cpu - cpu["client"]) / echoed if echoed else None,
        "wakeups_per_echo": {k: v / echoed for k, v in wakeups.items()} if echoed else None,
    }


def median_point(samples):
    """Median of each figure over the repeats (each figure on its own)."""
    def med(key, sub=None):
        vals = [s[key][sub] if sub else s[key] for s in samples]
        vals = [v for v in vals if v is not None]
        return statistics.median(vals) if vals else None
    m = {k: med(k) for k in ("echo_mbps", "echo_fraction", "cpu_percent", "cpu_us_per_echo",
                             "cpu_us_per_echo_no_client", "cpu_s_total", "lost")}
    m["offered_mbps"] = samples[0]["offered_mbps"]
    m["offered_pps"] = samples[0]["offered_pps"]
    m["cpu_s"] = {r: med("cpu_s", r) for r in samples[0]["cpu_s"]}
    if samples[0]["wakeups_per_echo"]:
        m["wakeups_per_echo"] = {r: med("wakeups_per_echo", r)
                                 for r in samples[0]["wakeups_per_echo"]}
    m["samples"] = samples
    return m


def summary(points):
    def peak(c):
        return max(p[c]["echo_mbps"] for p in points)
    tr = peak("isolated") / peak("colocated") if peak("colocated") > 0 else float("nan")
    both = [p for p in points if all(p[c]["echo_fraction"] >= SUSTAINED
                                     for c in ("isolated", "colocated"))]
    cr, at = float("nan"), None
    if both:
        p = max(both, key=lambda p: p["offered_mbps"])
        at = p["offered_mbps"]
        cr = p["isolated"]["cpu_us_per_echo"] / p["colocated"]["cpu_us_per_echo"]
    return tr, cr, at


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--config", action="append", required=True,
                    help="NAME:netns=NS:server=PID[:supervisor=PID:stats=FILE]")
    ap.add_argument("--bin", required=True)
    ap.add_argument("--json", required=True)
    ap.add_argument("--itr-us", type=int, default=50)
    ap.add_argument("--loads", help="offered loads, Mb/s of payload, comma-separated")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=2.0)
    ap.add_argument("--quick", action="store_true", help="4 loads, 1 repeat, 1 s each")
    a = ap.parse_args()
    loads = DEFAULT_LOADS
    if a.quick:
        loads, a.repeats, a.seconds = QUICK_LOADS, 1, 1.0
    if a.loads:
        loads = [float(x) for x in a.loads.split(",")]
    configs = [parse_config(s) for s in a.config]
    names = [c["name"] for c in configs]
    stats0 = {c["name"]: read_stats(c) for c in configs}
    tmpdir = tempfile.TemporaryDirectory(prefix="uldd-nicbench-sweep.")  # removed at exit
    tmp = tmpdir.name
    raw = {(l, c["name"]): [] for l in loads for c in configs}
    started = time.time()
    for load in loads:
        for r in range(a.repeats):
            # Rotate the order so that no configuration always goes first.
            order = configs[r % len(configs):] + configs[:r % len(configs)]
            for c in order:
                raw[(load, c["name"])].append(run_point(c, a.bin, load, a.seconds, tmp))
                time.sleep(0.2)  # let queues drain between points
        line = f"{load:7.0f} Mb/s offered |"
        for n in names:
            s = raw[(load, n)]
            line += " {} {:.0f} Mb/s {:.1f} us/echo |".format(
                n, statistics.median(x["echo_mbps"] for x in s),
                statistics.median(x["cpu_us_per_echo"] or 0 for x in s))
        print(line, file=sys.stderr, flush=True)
    time.sleep(1.2)  # the stats files are rewritten once a second
    stats1 = {c["name"]: read_stats(c) for c in configs}
    points = []
    for load in loads:
        p = {"offered_mbps": load}
        for n in names:
            p[n] = median_point(raw[(load, n)])
        points.append(p)
    device = {}
    for n in names:
        s0, s1 = stats0[n], stats1[n]
        if not s1:
            continue
        d = {k: s1[k] - s0.get(k, 0) for k in s1 if isinstance(s1[k], int) and k != "sequence"}
        frames = d.get("tx_frames", 0) + d.get("rx_frames", 0)
        d["interrupts_per_frame"] = d["driver_interrupts"] / frames if frames else None
        device[n] = d
    tr, cr, at = summary(points)
    res = {"benchmark": "nic-isolation", "payload_bytes": PAYLOAD, "itr_us": a.itr_us,
           "repeats": a.repeats, "seconds_per_point": a.seconds, "configs": names,
           "sustained_fraction": SUSTAINED, "points": points, "device_counters": device,
           "throughput_ratio": tr, "cpu_ratio": cr, "cpu_ratio_at_mbps": at,
           "host": os.uname().nodename, "cpus": os.cpu_count(),
           "loadavg_at_end": os.getloadavg(), "elapsed_s": time.time() - started}
    with open(a.json, "w") as f:
        json.dump(res, f, indent=1)

    print("UDP echo, 1024 B payloads, e1000 ITR {} us; medians of {} x {:.0f} s".format(
        a.itr_us, a.repeats, a.seconds))
    print("offered Mb/s | " + " | ".join(
        f"{n}: echo Mb/s, echoed %, CPU % of 1 core, CPU us/echo" for n in names))
    for p in points:
        cells = []
        for n in names:
            m = p[n]
            cells.append("{:6.1f} {:5.1f}% {:5.1f}% {:6.1f}".format(
                m["echo_mbps"], 100 * m["echo_fraction"], m["cpu_percent"],
                m["cpu_us_per_echo"] or float("nan")))
        print("{:12.0f} | {}".format(p["offered_mbps"], " | ".join(cells)))
    for n in names:
        if "wakeups_per_echo" in points[-1][n]:
            w = points[-1][n]["wakeups_per_echo"]
            print(f"{n} wake-ups per echo at the top load: " +
                  " ".join(f"{k}={v:.2f}" for k, v in sorted(w.items())))
    for n, d in device.items():
        print(f"{n} device: {d.get('driver_interrupts')} interrupts for "
              f"{d.get('tx_frames', 0) + d.get('rx_frames', 0)} frames "
              f"({d['interrupts_per_frame'] or 0:.3f}/frame), rx_dropped {d.get('rx_dropped')}, "
              f"backpressure {d.get('backpressure')}, violations {d.get('violations')}")
    print(f"json: {a.json}")
    print("SUMMARY throughput_ratio={:.3f} cpu_ratio={:.3f}".format(tr, cr))


if __name__ == "__main__":
    main()
