#!/usr/bin/env python3
"""Draws the nic-isolation results like the paper's Fig. 4 with gnuplot:
achieved echo throughput and CPU utilisation against the offered load, one
line per configuration (isolated, colocated, veth); a second panel shows the
CPU time per echoed packet, which is what the SUMMARY's cpu_ratio compares."""
import json
import os
import subprocess
import sys
import tempfile

src, png = sys.argv[1], sys.argv[2]
res = json.load(open(src))
names = res["configs"]
tmp = tempfile.mkdtemp()
dat = os.path.join(tmp, "points.dat")
with open(dat, "w") as f:
    for p in res["points"]:
        cols = [p["offered_mbps"]]
        for n in names:
            m = p[n]
            cols += [m["echo_mbps"], m["cpu_percent"], m["cpu_us_per_echo"] or "NaN"]
        f.write(" ".join(str(c) for c in cols) + "\n")


def col(i, k):  # column of figure k (0 echo, 1 cpu %, 2 us/echo) of config i
    return 2 + 3 * i + k


dash = {"isolated": 1, "colocated": 2, "veth": 3}
colour = {"isolated": "#9400d3", "colocated": "#009e73", "veth": "#56b4e9"}
tput = ", ".join(
    f"'{dat}' u 1:{col(i, 0)} w lp lw 2 dt {dash.get(n, 1)} lc rgb \"{colour.get(n, 'black')}\" pt 7 t '{n} echo Mb/s'"
    for i, n in enumerate(names))
cpu = ", ".join(
    f"'{dat}' u 1:{col(i, 1)} axes x1y2 w lp lw 1 dt {dash.get(n, 1)} lc rgb \"{colour.get(n, 'black')}\" pt 4 t '{n} CPU %'"
    for i, n in enumerate(names))
per = ", ".join(
    f"'{dat}' u 1:{col(i, 2)} w lp lw 2 dt {dash.get(n, 1)} lc rgb \"{colour.get(n, 'black')}\" pt 7 t '{n}'"
    for i, n in enumerate(names))
title = ("UDP echo, 1024 B payloads, e1000 ITR {} us, medians of {} x {:g} s "
         "(SUMMARY throughput_ratio={:.3f} cpu_ratio={:.3f})").format(
             res["itr_us"], res["repeats"], res["seconds_per_point"],
             res["throughput_ratio"], res["cpu_ratio"])
script = [
    "set terminal pngcairo size 1200,900 font ',10'",
    f"set output '{png}'",
    "set multiplot layout 2,1",
    "set termoption noenhanced", "set grid", "set key left top",
    "set xlabel 'offered load (Mb/s of echo payload)'",
    f"set title '{title}'",
    "set ylabel 'achieved echo throughput (Mb/s)'",
    "set y2label 'CPU utilisation (% of one CPU, all processes of the stack)'",
    "set ytics nomirror", "set y2tics", "set yrange [0:*]", "set y2range [0:*]",
    f"plot {tput}, {cpu}",
    "unset y2tics", "unset y2label", "set ytics mirror",
    "set title 'CPU time per echoed packet (supervisor, driver, model, echo server, client)'",
    "set ylabel 'CPU us per echoed packet'", "set key right top",
    f"plot {per}",
    "unset multiplot",
]
r = subprocess.run(["gnuplot"], input="\n".join(script), text=True, capture_output=True)
if r.returncode != 0:
    sys.exit("gnuplot failed:\n" + r.stderr)
print(f"plot: {png}")
