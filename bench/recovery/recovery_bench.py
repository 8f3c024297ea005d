#!/usr/bin/env python3
"""bench/recovery: how long a driver crash stalls the application, per recovery mode.

For each device and mode (cold, warm, hot standby) a real uldd-supervisor
serves one device under a steady verified load, and the driver process is
SIGKILLed N times, each time only after the previous recovery has completed
its first request (and, in standby mode, the next standby has attached; each
kill then counts as a fresh failure, see stable_after below):
  disk  an emulated NVMe disk through FUSE: QD1 4 KiB O_DIRECT writes of a
        known pattern, each followed by a read-back of an earlier block;
  nic   an emulated e1000 between two network namespaces: QD1 1 KiB UDP echo
        with checked payloads (nic_load.py, udp_probe.py).

Per kill, all on CLOCK_MONOTONIC (the supervisor's steady_clock):
  detection    kill -> the supervisor noticed (pidfd)        supervisor event line
  restart      noticed -> the new driver serves               supervisor event line
  first        kill -> first completion after the restart     supervisor event line
  stall        disk: longest client request that overlapped the outage (kill ..
               first completion); nic: last echo before the kill -> first after
At the end every block written is read back and compared; a request that
failed (EIO) or a block that does not read back as last written counts as
lost; for the NIC an echo that came back altered counts as lost (a datagram
that never came back is UDP loss: shown, not counted as lost).

Output: a table (p50/p99/max per metric and mode), JSON, a histogram PNG
(gnuplot), and a last line
  SUMMARY cold_p99_ms=<x> warm_p99_ms=<y> standby_p99_ms=<z> lost=<n>
where the p99 figures are of the client-visible stall (the worse device's).
"""
import argparse
import json
import mmap
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time

from nic_load import NicLoad

BLOCK = 4096
REGION_BLOCKS = 4096  # 16 MiB of the disk is written over and over


def percentile(values, p):
    if not values:
        return float("nan")
    s = sorted(values)
    k = min(len(s) - 1, max(0, int(round(p / 100.0 * (len(s) - 1)))))
    return s[k]


class DiskLoad:
    """QD1 verified load on the FUSE file; records (start_ns, end_ns, ok).
    Same interface as nic_load.NicLoad: start, stop, stall_ns, figures."""

    def __init__(self, path):
        self.fd = os.open(path, os.O_RDWR | os.O_DIRECT)
        self.buf = mmap.mmap(-1, BLOCK)
        self.rbuf = mmap.mmap(-1, BLOCK)
        self.gen = [0] * REGION_BLOCKS
        self.ops = []
        self.errors = 0
        self.mismatches = 0
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.final_mismatches = 0

    def start(self):
        self.thread.start()

    def stop(self):
        self.stopping.set()
        self.thread.join()
        self.final_mismatches = self.verify_all()
        os.close(self.fd)

    def stall_ns(self, kill_ns, first_ns):
        """The longest request that overlapped the outage (kill .. first completion)."""
        return max((t1 - t0 for (t0, t1, _) in self.ops if t1 >= kill_ns and t0 <= first_ns), default=0)

    def figures(self):
        return {"ops": len(self.ops), "io_errors": self.errors, "readback_mismatches": self.mismatches,
                "final_verify_mismatches": self.final_mismatches,
                "lost": self.errors + self.mismatches + self.final_mismatches}

    def pattern(self, block, gen):
        head = struct.pack("<QQ", block, gen)
        return (head * (BLOCK // len(head)))

    def timed(self, fn):
        t0 = time.monotonic_ns()
        ok = True
        try:
            fn()
        except OSError:
            ok = False
            self.errors += 1
        t1 = time.monotonic_ns()
        self.ops.append((t0, t1, ok))
        return ok

    def run(self):
        i = 0
        while not self.stopping.is_set():
            block = i % REGION_BLOCKS
            gen = self.gen[block] + 1
            self.buf.seek(0)
            self.buf.write(self.pattern(block, gen))
            if self.timed(lambda: os.pwrite(self.fd, self.buf, block * BLOCK)):
                self.gen[block] = gen
            back = (block * 7919) % REGION_BLOCKS
            if self.gen[back]:
                if self.timed(lambda: os.preadv(self.fd, [self.rbuf], back * BLOCK)):
                    if self.rbuf[:BLOCK] != self.pattern(back, self.gen[back]):
                        self.mismatches += 1
            i += 1

    def verify_all(self):
        bad = 0
        for block, gen in enumerate(self.gen):
            if gen == 0:
                continue
            os.preadv(self.fd, [self.rbuf], block * BLOCK)
            if self.rbuf[:BLOCK] != self.pattern(block, gen):
                bad += 1
        return bad


def driver_pid(log_path):
    """The serving driver: the newest restart's new_pid, else the first driver."""
    text = open(log_path, errors="replace").read()
    pids = re.findall(r"driver process pid (\d+)|driver restarted \w+ \(pid (\d+)", text)
    if not pids:
        return None
    a, b = pids[-1]
    pid = int(a or b)
    return pid if os.path.exists(f"/proc/{pid}") else None


def standbys_attached(log_path):
    """How many hot standbys have attached and wait to be promoted (driver log lines)."""
    return len(re.findall(r"\] standby: attached, waiting to be promoted", open(log_path, errors="replace").read()))


def events(log_path):
    evs = []
    with open(log_path, errors="replace") as f:
        for line in f:
            m = re.search(r" event (\{.*\})\s*$", line)
            if m:
                evs.append(json.loads(m.group(1)))
    return evs


def run_mode(args, device, mode):
    tmp = tempfile.mkdtemp(prefix=f"uldd-bench-recovery-{device}-{mode}.")
    sup = None
    nic = None
    try:
        if device == "nic":
            nic = NicLoad(args, tmp, mode)
        os.makedirs(f"{tmp}/policies")
        recovery = "cold" if mode == "cold" else "warm"
        standby = "true" if mode == "standby" else "false"
        with open(f"{tmp}/policies/bench.toml", "w") as f:
            # Each kill comes after `interval` of steady state: stable_after
            # below it makes every kill a fresh failure (restart after
            # `delay` = 0), which is what is measured; the backoff of a
            # crash loop (1 ms and up) is policy, not recovery time.
            stable_ms = max(1, int(args.interval * 1000 / 2))
            f.write(f"""[restart]
mode = "always"
delay = "0ms"
intensity = 10000
period = "1m"
[backoff]
initial = "1ms"
max = "1ms"
jitter = 0.0
stable_after = "{stable_ms}ms"
[heartbeat]
interval = "20ms"
timeout = "500ms"
[recovery]
mode = "{recovery}"
hot_standby = {standby}
""")
        with open(f"{tmp}/uldd.toml", "w") as f:
            f.write(f"""[supervisor]
runtime_dir = "{tmp}/run"
status_interval_ms = 0
driver_user = "nobody"
policy_dir = "{tmp}/policies"
""")
            f.write(nic.config("bench") if nic else f"""[[disk]]
name = "disk0"
backing_file = "{tmp}/disk0.img"
size = "64MiB"
policy = "bench"
fuse_path = "{tmp}/run/disk0"
nbd_socket = ""
""")
        log_path = f"{tmp}/supervisor.log"
        log = open(log_path, "w")
        sup = subprocess.Popen([f"{args.bin_dir}/uldd-supervisor", "--config", f"{tmp}/uldd.toml"],
                               stdout=log, stderr=subprocess.STDOUT)
        deadline = time.time() + 30
        while "all devices serving" not in open(log_path).read():
            if sup.poll() is not None or time.time() > deadline:
                sys.stderr.write(open(log_path).read())
                raise SystemExit(f"{mode}: supervisor did not come up")
            time.sleep(0.05)
        load = nic if nic else DiskLoad(f"{tmp}/run/disk0")
        load.start()
        time.sleep(0.3)
        kills = []
        last_pid = None
        for k in range(args.kills):
            # Wait until the previous recovery completed a request and the
            # driver is a new one, plus a little steady state. With a hot
            # standby, also until its successor standby has attached (one
            # per recovery plus the first): a kill while it is still
            # starting (exec, linking: tens of ms on a busy machine) measures
            # a crash loop faster than the standby can follow, not promotion.
            t_wait = time.time() + 10
            while True:
                pid = driver_pid(log_path)
                done = len(events(log_path)) >= k
                if done and mode == "standby":
                    done = standbys_attached(log_path) >= k + 1
                if pid and pid != last_pid and done:
                    break
                if time.time() > t_wait:
                    raise SystemExit(f"{mode}: recovery {k} did not complete within 10 s")
                time.sleep(0.002)
            time.sleep(args.interval)
            t_kill = time.monotonic_ns()
            os.kill(pid, signal.SIGKILL)
            kills.append({"pid": pid, "kill_ns": t_kill})
            last_pid = pid
        t_end = time.time() + 10
        while len(events(log_path)) < args.kills and time.time() < t_end:
            time.sleep(0.01)
        time.sleep(0.2)
        load.stop()
        sup.send_signal(signal.SIGTERM)
        sup.wait(timeout=30)
        by_pid = {e["old_pid"]: e for e in events(log_path)}
        rows = []
        for kl in kills:
            e = by_pid.get(kl["pid"])
            if e is None:
                continue
            k_ns, fc = kl["kill_ns"], e["first_completion_ns"]
            stall = load.stall_ns(k_ns, fc)
            rows.append({
                "detection_ms": (e["detected_ns"] - k_ns) / 1e6,
                "restart_ms": (e["serving_ns"] - e["detected_ns"]) / 1e6,
                "first_completion_ms": (fc - k_ns) / 1e6,
                "stall_ms": stall / 1e6,
                "recovery": e["mode"], "standby": e["standby"], "resent": e["resent"],
                "warm_refused": e["warm_refused"],
            })
        fig = load.figures()
        return dict(fig, device=device, mode=mode, kills=len(kills), recovered=len(rows),
                    lost=fig["lost"] + (len(kills) - len(rows)), per_kill=rows)
    finally:
        # A failed run must not leave a supervisor (and its FUSE mount) behind.
        if sup is not None and sup.poll() is None:
            sup.send_signal(signal.SIGTERM)
            try:
                sup.wait(timeout=30)
            except subprocess.TimeoutExpired:
                sup.kill()
        if nic is not None:
            nic.cleanup()
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin-dir", required=True)
    ap.add_argument("--kills", type=int, default=200)
    ap.add_argument("--modes", default="cold,warm,standby")
    ap.add_argument("--devices", default="disk,nic", help="disk (NVMe, FUSE load), nic (e1000, UDP echo load)")
    ap.add_argument("--interval", type=float, default=0.05, help="steady state between recoveries, s")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "results"))
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("needs root (FUSE, drivers as nobody)")
    results = [run_mode(args, d, m) for d in args.devices.split(",") for m in args.modes.split(",")]

    metrics = ["detection_ms", "restart_ms", "first_completion_ms", "stall_ms"]
    print(f"{'device':6} {'mode':8} {'kills':>5} {'metric':20} {'p50':>8} {'p99':>8} {'max':>8}")
    summary = {}
    for r in results:
        who = f"{r['device']:6} {r['mode']:8}"
        for m in metrics:
            v = [row[m] for row in r["per_kill"]]
            r.setdefault("stats", {})[m] = {"p50": percentile(v, 50), "p99": percentile(v, 99), "max": max(v or [0])}
            s = r["stats"][m]
            print(f"{who} {r['recovered']:5} {m:20} {s['p50']:8.2f} {s['p99']:8.2f} {s['max']:8.2f}")
        if r["device"] == "disk":
            print(f"{who} ops {r['ops']}, I/O errors {r['io_errors']}, read-back mismatches "
                  f"{r['readback_mismatches']}, final verify mismatches {r['final_verify_mismatches']}, "
                  f"warm refused {sum(1 for x in r['per_kill'] if x['warm_refused'])}")
        else:
            print(f"{who} datagrams {r['datagrams']}, echoed {r['echoed']}, UDP lost {r['udp_lost']}, "
                  f"corrupted {r['corrupted']}, warm refused {sum(1 for x in r['per_kill'] if x['warm_refused'])}")
        # The SUMMARY gives, per mode, the worst device's p99.
        p99 = r["stats"]["stall_ms"]["p99"]
        summary[r["mode"]] = max(summary.get(r["mode"], p99), p99)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    os.makedirs(args.out, exist_ok=True)
    base = os.path.join(args.out, f"recovery-{stamp}")
    with open(base + ".json", "w") as f:
        json.dump({"kills_per_mode": args.kills, "results": results}, f, indent=1)
    plot(results, base)
    lost = sum(r["lost"] for r in results)
    print(f"results: {base}.json {base}.png")
    print("SUMMARY " + " ".join(f"{m}_p99_ms={summary.get(m, float('nan')):.2f}"
                                for m in ("cold", "warm", "standby")) + f" lost={lost}")


def plot(results, base):
    if shutil.which("gnuplot") is None:
        return
    dat = base + ".dat"
    with open(dat, "w") as f:
        for r in results:
            f.write(f"# {r['device']} {r['mode']}\n")
            for row in r["per_kill"]:
                f.write(f"{row['stall_ms']:.3f}\n")
            f.write("\n\n")
    plots = ", ".join(
        f"'{dat}' index {i} using (bin($1)):(1.0) smooth freq with boxes title '{r['device']} {r['mode']}'"
        for i, r in enumerate(results))
    script = f"""set terminal pngcairo size 900,500
set output '{base}.png'
set title 'uldd: client-visible stall per driver kill (disk: 4 KiB QD1 via FUSE; nic: 1 KiB UDP echo QD1)'
set xlabel 'longest stall, ms'
set ylabel 'kills'
binwidth = 0.5
bin(x) = binwidth * floor(x / binwidth)
set style fill transparent solid 0.5
plot {plots}
"""
    subprocess.run(["gnuplot"], input=script, text=True, check=False)
    os.remove(dat)


if __name__ == "__main__":
    main()
