// write_report_plots: see report_plots.h. Data files and the gnuplot script
// are written beside the PNGs (plot-*.dat, plots.gp), so a plot can be
// redrawn or restyled by hand.
#include "faultinject/campaign/report_plots.h"

#include <unistd.h>

#include <fstream>
#include <thread>

#include "faultinject/campaign/spawned_process.h"

namespace uldd::campaign {

namespace fs = std::filesystem;

Status write_report_plots(const CampaignReport& r, const fs::path& dir) {
  const char* gnuplot = "/usr/bin/gnuplot";
  if (::access(gnuplot, X_OK) != 0)
    return plain_error("no /usr/bin/gnuplot (gnuplot-nox): no plots");
  {
    std::ofstream tp(dir / "plot-throughput.dat");
    const auto& w = r.workload.writes_per_100ms;
    for (size_t i = 0; i < w.size(); ++i) tp << (i * 100) / 1000.0 << " " << w[i] * 10 << "\n";
    std::ofstream faults(dir / "plot-faults.dat");
    for (const FaultRecord& f : r.faults)
      if (f.injected_at_ms) faults << *f.injected_at_ms / 1000.0 << " " << f.fault.type << "\n";
    std::ofstream down(dir / "plot-downtime.dat");
    for (const FaultRecord& f : r.faults)
      if (f.downtime_us) down << *f.downtime_us / 1000.0 << "\n";
  }
  bool any_downtime = false;
  for (const FaultRecord& f : r.faults) any_downtime = any_downtime || f.downtime_us.has_value();
  std::ofstream gp(dir / "plots.gp");
  gp << "set terminal pngcairo size 1000,500 noenhanced\n"
        "set output 'throughput.png'\n"
        "set title 'campaign "
     << r.campaign.name << " seed " << r.seed
     << ": acknowledged writes/s (red: faults)'\n"
        "set xlabel 'time since the workload started (s)'\nset ylabel 'writes/s'\n"
        "set grid\nset key off\nset yrange [0:*]\n";
  for (const FaultRecord& f : r.faults)
    if (f.injected_at_ms)
      gp << "set arrow from " << *f.injected_at_ms / 1000.0 << ", graph 0 to "
         << *f.injected_at_ms / 1000.0 << ", graph 1 nohead lc rgb 'red' dt 2\n";
  gp << "plot 'plot-throughput.dat' using 1:2 with steps lc rgb 'blue'\nunset arrow\n";
  if (any_downtime)
    gp << "set output 'downtime.png'\n"
          "set title 'downtime per recovery (ms)'\nset xlabel 'downtime (ms)'\n"
          "set ylabel 'recoveries'\nbin(x) = 2*floor(x/2) + 1\nset boxwidth 1.8\n"
          "set style fill solid 0.6\nset yrange [0:*]\n"
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
