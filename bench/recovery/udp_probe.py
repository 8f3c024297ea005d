#!/usr/bin/env python3
"""UDP probe for bench/recovery's NIC runs: a steady, verified, queue-depth-1
echo load whose every datagram is timed on CLOCK_MONOTONIC (the clock of the
supervisor's event lines; one clock for every network namespace).

Runs in the host-side namespace against `uldd-udp-echo server`:
  udp_probe.py --to 198.18.0.2 --port 7007 --out FILE [--size 1024] [--timeout-ms 20]
Each datagram carries (sequence, send time) and a payload derived from the
sequence; an echo is believed only if all of it comes back unchanged. On
SIGTERM/SIGINT it writes one line per datagram to FILE:
  <seq> <send_ns> <recv_ns or 0> <ok 1|0>
(ok 0 with recv_ns != 0 = an echo came back altered: a corrupted payload).
Echoes of earlier (timed-out) datagrams that arrive late are matched by
sequence and counted as late, not as corrupted.
"""
import argparse
import select
import signal
import socket
import struct
import time

HEADER = struct.Struct("<QQ")  # sequence, send_ns


def payload(seq, size):
    body = bytes(((seq * 131 + i * 7) & 0xFF) for i in range(min(size - HEADER.size, 256)))
    reps = (size - HEADER.size + len(body) - 1) // max(1, len(body))
    return (body * max(1, reps))[: size - HEADER.size]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--to", required=True)
    ap.add_argument("--port", type=int, default=7007)
    ap.add_argument("--size", type=int, default=1024)
    ap.add_argument("--timeout-ms", type=float, default=20.0)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()

    stop = False

    def on_signal(*_):
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.connect((args.to, args.port))
    s.setblocking(False)
    records = []  # [seq, send_ns, recv_ns, ok]
    # 64 payloads made once: building one per datagram in the send loop
    # would slow the probe down.
    bodies = [payload(k, args.size) for k in range(64)]
    seq = 0
    while not stop:
        seq += 1
        body = bodies[seq % 64]
        t0 = time.monotonic_ns()
        try:
            s.send(HEADER.pack(seq, t0) + body)
        except (BlockingIOError, OSError):
            records.append([seq, t0, 0, 0])
            time.sleep(0.001)
            continue
        rec = [seq, t0, 0, 0]
        records.append(rec)
        deadline = t0 + int(args.timeout_ms * 1e6)
        while not stop:
            left = (deadline - time.monotonic_ns()) / 1e9
            if left <= 0:
                break
            r, _, _ = select.select([s], [], [], left)
            if not r:
                break
            try:
                data = s.recv(65536)
            except BlockingIOError:
                continue
            t1 = time.monotonic_ns()
            if len(data) < HEADER.size:
                continue
            got_seq, _ = HEADER.unpack_from(data)
            if got_seq == seq:
                rec[2] = t1
                rec[3] = 1 if data[HEADER.size:] == body else 0
                break
            # A late echo of an earlier datagram: not this one's answer.
    with open(args.out, "w") as f:
        for r in records:
            f.write(f"{r[0]} {r[1]} {r[2]} {r[3]}\n")


if __name__ == "__main__":
    main()
