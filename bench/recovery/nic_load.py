"""bench/recovery, NIC side: one emulated e1000 (isolated driver) between two
network namespaces of scripts/netns-rig.sh, a UDP echo server on the wire side
(uldd-udp-echo server) and udp_probe.py on the host side sending a steady,
verified, queue-depth-1 echo load of 1024-byte datagrams, every datagram timed
on CLOCK_MONOTONIC.

Per kill, the client-visible stall is the gap between the last echo received
before the kill and the first one received after it. A datagram whose echo
never came is a UDP loss (counted, shown, allowed: the kernel drops as it would
on a real NIC); an echo that came back altered is corruption and counts as
lost in the SUMMARY.
"""
import os
import subprocess
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
RIG = os.path.join(ROOT, "scripts", "netns-rig.sh")
PEER = "198.18.0.2"


class NicLoad:
    def __init__(self, args, tmp, mode):
        self.args, self.tmp = args, tmp
        suffix = f"-brec-{mode}-{os.getpid()}"
        self.env = dict(os.environ, ULDD_RIG_SUFFIX=suffix, ULDD_RIG_TAP=f"bt{os.getpid() % 100000}",
                        ULDD_RIG_WIRE=f"bw{os.getpid() % 100000}")
        names = subprocess.run([RIG, "names"], env=self.env, check=True, capture_output=True,
                               text=True).stdout.split()
        self.ns_a, self.ns_b, self.tap, self.wire = names
        subprocess.run([RIG, "up"], env=self.env, check=True)
        self.server = self.probe = None
        self.records_path = f"{tmp}/probe.txt"
        self.records = []

    def config(self, policy):
        return f"""[[nic]]
name = "nic0"
mode = "isolated"
policy = "{policy}"
tap = "{self.tap}"
tap_netns = "{self.ns_a}"
wire_tap = "{self.wire}"
wire_netns = "{self.ns_b}"
"""

    def start(self):
        subprocess.run([RIG, "links"], env=self.env, check=True)
        self.server = subprocess.Popen(["ip", "netns", "exec", self.ns_b,
                                        f"{self.args.bin_dir}/uldd-udp-echo", "server", "--bind", PEER],
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(50):
            if subprocess.run(["ip", "netns", "exec", self.ns_a, "ping", "-c1", "-W1", PEER],
                              stdout=subprocess.DEVNULL).returncode == 0:
                break
        self.probe = subprocess.Popen(["ip", "netns", "exec", self.ns_a, "python3",
                                       os.path.join(HERE, "udp_probe.py"), "--to", PEER,
                                       "--out", self.records_path])

    def stop(self):
        if self.probe is not None and self.probe.poll() is None:
            self.probe.terminate()
            self.probe.wait(timeout=30)
        if os.path.exists(self.records_path):
            with open(self.records_path) as f:
                self.records = [tuple(int(x) for x in line.split()) for line in f if line.strip()]

    def cleanup(self):
        for p in (self.probe, self.server):
            if p is not None and p.poll() is None:
                p.kill()
                p.wait()
        subprocess.run([RIG, "down"], env=self.env, check=False)

    def stall_ns(self, kill_ns, first_ns):
        """Last echo before the kill -> first echo after it."""
        before = [r for (_, _, r, ok) in self.records if ok and 0 < r <= kill_ns]
        after = [r for (_, _, r, ok) in self.records if ok and r > kill_ns]
        if not before or not after:
            return 0
        return min(after) - max(before)

    def figures(self):
        sent = len(self.records)
        echoed = sum(1 for (_, _, r, ok) in self.records if r and ok)
        corrupted = sum(1 for (_, _, r, ok) in self.records if r and not ok)
        return {"datagrams": sent, "echoed": echoed, "udp_lost": sent - echoed - corrupted,
                "corrupted": corrupted, "lost": corrupted, "ops": sent}
