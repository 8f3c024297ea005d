#!/usr/bin/env python3
"""Draws the disk-isolation results like the paper's Fig. 2 with gnuplot:
throughput (left axis, rising lines) and CPU per MiB (right axis) against the
transfer size in sectors, isolated vs colocated; one panel per access path."""
import json
import os
import subprocess
import sys
import tempfile

src, png = sys.argv[1], sys.argv[2]
res = json.load(open(src))
paths = [p for p in ("shim", "fuse") if p in res]
tmp = tempfile.mkdtemp()
for p in paths:
    with open(os.path.join(tmp, f"{p}.dat"), "w") as f:
        for pt in res[p]:
            f.write("{} {} {} {} {}\n".format(
                pt["sectors"], pt["isolated"]["mib_per_s"], pt["colocated"]["mib_per_s"],
                pt["isolated"]["cpu_s_per_mib"] * 1e3, pt["colocated"]["cpu_s_per_mib"] * 1e3))
script = [
    "set terminal pngcairo size 1200,{} font ',10'".format(450 * len(paths)),
    f"set output '{png}'",
    f"set multiplot layout {len(paths)},1",
    "set logscale x 2", "set xlabel 'transfer size (512-byte sectors)'",
    "set ylabel 'throughput (MiB/s)'", "set y2label 'CPU time (ms per MiB, all processes)'",
    "set ytics nomirror", "set y2tics", "set logscale y2", "set key left top", "set grid",
    "set termoption noenhanced",
]
for p in paths:
    title = {"shim": "at the shim client interface", "fuse": "through the FUSE file (O_DIRECT)"}[p]
    d = os.path.join(tmp, f"{p}.dat")
    script += [
        f"set title 'Sequential read, isolated vs colocated driver, {title} (device latency {res['device_latency_us']} us)'",
        f"plot '{d}' u 1:2 w lp lw 2 t 'isolated MiB/s', '{d}' u 1:3 w lp lw 2 t 'colocated MiB/s', "
        f"'{d}' u 1:4 axes x1y2 w l dt 2 lw 2 t 'isolated CPU ms/MiB', '{d}' u 1:5 axes x1y2 w l dt 2 lw 2 t 'colocated CPU ms/MiB'",
    ]
script.append("unset multiplot")
r = subprocess.run(["gnuplot"], input="\n".join(script), text=True, capture_output=True)
if r.returncode != 0:
    sys.exit("gnuplot failed:\n" + r.stderr)
print(f"plot: {png}")
