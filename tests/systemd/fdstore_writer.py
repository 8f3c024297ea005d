#!/usr/bin/env python3
"""Writes 4 KiB blocks through the FUSE file from several threads until a stop
file appears, and records every acknowledged write (the last one per block):
the supervisor may be SIGKILLed meanwhile, and no write may fail.

  fdstore_writer.py write FILE MAP STOPFILE   -> writes, then verifies through FILE, saves MAP
  fdstore_writer.py verify FILE MAP            -> verifies FILE (e.g. the backing file) against MAP

Each thread owns the blocks i with i % THREADS == thread, so a block's last
acknowledged write is well defined. Block content: (block, sequence) packed
256 times, so any stale or misplaced block is caught.
"""
import json
import os
import random
import struct
import sys
import threading
import time

BLOCK = 4096
BLOCKS = 16384  # the first 64 MiB of the disk
THREADS = 4


def content(block, seq):
    return struct.pack("<QQ", block, seq) * (BLOCK // 16)


def write(path, map_path, stop_path):
    fd = os.open(path, os.O_RDWR)
    acked = {}
    errors = []
    counts = [0] * THREADS

    def worker(t):
        rng = random.Random(t)
        seq = 0
        own = list(range(t, BLOCKS, THREADS))
        while not os.path.exists(stop_path) and not errors:
            block = rng.choice(own)
            seq += 1
            data = content(block, seq)
            try:
                n = os.pwrite(fd, data, block * BLOCK)
            except OSError as e:
                errors.append(f"thread {t}: pwrite block {block}: {e}")
                return
            if n != BLOCK:
                errors.append(f"thread {t}: short write {n} at block {block}")
                return
            acked[block] = seq  # acknowledged: must read back from now on
            counts[t] += 1

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(THREADS)]
    start = time.monotonic()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    if errors:
        print("writer: FAILED: " + "; ".join(errors), file=sys.stderr)
        return 1
    with open(map_path, "w") as f:
        json.dump({str(k): v for k, v in acked.items()}, f)
    print(f"writer: {sum(counts)} writes acknowledged in {time.monotonic() - start:.1f} s, "
          f"{len(acked)} distinct blocks", file=sys.stderr)
    os.close(fd)
    return verify(path, map_path)


def verify(path, map_path):
    with open(map_path) as f:
        acked = {int(k): v for k, v in json.load(f).items()}
    fd = os.open(path, os.O_RDONLY)
    bad = 0
    for block, seq in sorted(acked.items()):
        got = os.pread(fd, BLOCK, block * BLOCK)
        if got != content(block, seq):
            bad += 1
            if bad <= 5:
                b, s = struct.unpack("<QQ", got[:16]) if len(got) >= 16 else (-1, -1)
                print(f"verify: {path}: block {block}: expected seq {seq}, found block {b} seq {s}",
                      file=sys.stderr)
    os.close(fd)
    print(f"verify: {path}: {len(acked)} acknowledged blocks, {bad} differ", file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    if sys.argv[1] == "write":
        sys.exit(write(sys.argv[2], sys.argv[3], sys.argv[4]))
    sys.exit(verify(sys.argv[2], sys.argv[3]))
