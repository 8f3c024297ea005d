// write_report_plots: see report_plots.h. Data files and the gnuplot script
// are written beside the PNGs (plot-*.dat, plots.gp), so a plot can be
// redrawn or restyled by hand.
#include "faultinject/campaign/report_plots.h"

#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <thread>

#include "faultinject/campaign/spawned_process.h"

namespace uldd::campaign {

namespace fs = std::filesystem;

namespace {

// The rug's lanes, bottom to top, and their colours.
struct Lane {
  int row;
  unsigned rgb;
};
Lane lane_of(const FaultRecord& f) {
  switch (f.classification) {
    case Classification::kNoEffect:
      return {0, 0xa0a0a0};
    case Classification::kRecoveredWarm:
      return {1, f.latent ? 0x9467bdu : 0x2ca02cu};
    case Classification::kRecoveredCold:
      return {2, f.latent ? 0x9467bdu : 0xff7f0eu};
    default:  // escalated, data corrupted, supervisor lost, not injected
      return {3, 0xd62728};
  }
}

struct Series {
  std::string title;
  const std::vector<uint32_t>* per_100ms;
};
constexpr const char* kSeriesColours[] = {"#3060c0", "#17becf", "#8c564b", "#bcbd22"};

// Recoveries are marked above the curve only while they stay readable;
// the bad outcomes always are.
constexpr size_t kMaxRecoveryMarkers = 200;

}  // namespace

Status write_report_plots(const CampaignReport& r, const fs::path& dir) {
  const char* gnuplot = "/usr/bin/gnuplot";
  if (::access(gnuplot, X_OK) != 0)
    return plain_error("no /usr/bin/gnuplot (gnuplot-nox): no plots");
  // One curve per workload: the disk writer's acknowledged writes and each
  // NIC's verified echoes, per second, on one time axis.
  std::vector<Series> series;
  if (!r.workload.writes_per_100ms.empty() || r.nic_workloads.empty())
    series.push_back({"acknowledged writes/s (verified writer)", &r.workload.writes_per_100ms});
  for (const EchoSummary& e : r.nic_workloads)
    series.push_back({"echoes/s (" + e.device + ")", &e.echoes_per_100ms});
  uint32_t peak = 1;
  size_t samples = 0;
  for (const Series& c : series) {
    for (uint32_t v : *c.per_100ms) peak = std::max(peak, v * 10);
    samples = std::max(samples, c.per_100ms->size());
  }
  size_t recoveries = 0;
  for (const FaultRecord& f : r.faults) recoveries += f.observed.recovered ? 1 : 0;
  bool mark_recoveries = recoveries <= kMaxRecoveryMarkers;
  double end_s = static_cast<double>(samples) / 10.0;
  {
    // time, then one column per series (a series that ended early: 0)
    std::ofstream tp(dir / "plot-throughput.dat");
    for (size_t i = 0; i < samples; ++i) {
      tp << (i * 100) / 1000.0;
      for (const Series& c : series)
        tp << " " << (i < c.per_100ms->size() ? (*c.per_100ms)[i] * 10 : 0);
      tp << "\n";
    }
    // time, lane, colour, type: one line per injected fault (the rug)
    std::ofstream faults(dir / "plot-faults.dat");
    // time, colour: the faults marked above the curve
    std::ofstream marks(dir / "plot-marks.dat");
    for (const FaultRecord& f : r.faults) {
      if (!f.injected_at_ms) continue;
      double t = *f.injected_at_ms / 1000.0;
      end_s = std::max(end_s, t);
      Lane l = lane_of(f);
      faults << t << " " << l.row << " " << l.rgb << " " << f.fault.type << "\n";
      if (l.row == 3 || (mark_recoveries && f.observed.recovered))
        marks << t << " " << l.rgb << "\n";
    }
    marks << "-1 0\n";  // never empty: gnuplot refuses a plot of an empty file
    std::ofstream down(dir / "plot-downtime.dat");
    for (const FaultRecord& f : r.faults)
      if (f.downtime_us) down << *f.downtime_us / 1000.0 << "\n";
  }
  bool any_downtime = false;
  for (const FaultRecord& f : r.faults) any_downtime = any_downtime || f.downtime_us.has_value();
  std::ofstream gp(dir / "plots.gp");
  // Top: the throughput, with markers above it (recoveries while there are
  // few; failures always). Bottom: a rug, one thin tick per fault in the
  // lane of its outcome, so that thousands of faults stay readable.
  gp << "set terminal pngcairo size 1200,600 noenhanced\n"
        "set output 'throughput.png'\n"
        "set multiplot\nset lmargin 12\nset rmargin 3\n"
        "set xrange [0:"
     << std::max(end_s, 1.0) * 1.01
     << "]\n"
        "set origin 0,0.3\nset size 1,0.7\nset bmargin 1\n"
        "set title \"campaign "
     << r.campaign.name << " seed " << r.seed << ": operations completed per second\\n"
     << (mark_recoveries ? "marks: recoveries (green warm, orange cold, purple latent); "
                         : "marks: ")
     << "red: escalated, data corrupted, supervisor lost\" noenhanced\n"
        "set ylabel 'per second'\nset grid\nset key top left horizontal noenhanced\n"
        "set format x ''\nset yrange [0:"
     << peak * 1.25 << "]\nplot ";
  for (size_t i = 0; i < series.size(); ++i)
    gp << "'plot-throughput.dat' using 1:" << i + 2 << " with steps lc rgb '"
       << kSeriesColours[i % std::size(kSeriesColours)] << "' title '" << series[i].title
       << "', \\\n     ";
  gp << "'plot-marks.dat' using 1:(" << peak * 1.1
     << "):2 with points pt 11 ps 0.7 lc rgb variable notitle\n"
        "set origin 0,0\nset size 1,0.3\nset tmargin 0\nset bmargin 3\nunset title\nset key off\n"
        "set format x '%g'\nset xlabel 'time since the workload started (s)'\n"
        "set ylabel ''\nset yrange [-0.1:4]\nunset grid\n"
        "set ytics ('no effect' 0.4, 'warm' 1.4, 'cold' 2.4, 'failed' 3.4)\n"
        "plot 'plot-faults.dat' using 1:($2+0.05):(0):(0.7):3 with vectors nohead lw 0.6 "
        "lc rgb variable\n"
        "unset multiplot\nunset ytics\nset ytics\nunset xlabel\nset tmargin\nset bmargin\n"
        "set lmargin\nset rmargin\nset origin 0,0\nset size 1,1\nset grid\n";
  if (any_downtime)
    gp << "set terminal pngcairo size 1000,500 noenhanced\n"
          "set output 'downtime.png'\n"
          "set title 'downtime per recovery (ms)'\nset xlabel 'downtime (ms)'\n"
          "set ylabel 'recoveries'\nbin(x) = 2*floor(x/2) + 1\nset boxwidth 1.8\n"
          "set style fill solid 0.6\nset xrange [0:*]\nset yrange [0:*]\n"
          "plot 'plot-downtime.dat' using (bin($1)):(1) smooth frequency with boxes lc rgb "
          "'dark-green'\n";
  gp.close();
  if (!gp) return plain_error("cannot write " + (dir / "plots.gp").string());
  // gnuplot resolves the output names against its working directory.
  fs::path cwd = fs::current_path();
  std::error_code ec;
  fs::current_path(dir, ec);
  if (ec) return plain_error("chdir " + dir.string() + ": " + ec.message());
  auto p = SpawnedProcess::spawn({gnuplot, "plots.gp"}, "plots.log");
  fs::current_path(cwd, ec);
  if (!p) return p.error();
  for (int i = 0; i < 300 && p->running(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  auto status = p->stop(std::chrono::seconds(1));
  if (!status || *status != 0)
    return plain_error("gnuplot failed (" +
                       (status ? describe_wait_status(*status) : std::string("?")) + "); see " +
                       (dir / "plots.log").string());
  return {};
}

}  // namespace uldd::campaign
