// write_report_plots: the two pictures of a campaign report, drawn by
// gnuplot (gnuplot-nox) when it is installed — throughput.png (acknowledged
// writes per second over time, recoveries and failures marked above it, and
// below it a rug with one tick per injected fault in the lane of its
// outcome, readable at thousands of faults) and
// downtime.png (histogram of the recoveries' downtime). A missing gnuplot
// or a failed plot is reported, never fatal: report.json is the result.
#pragma once

#include <filesystem>

#include "common/result.h"
#include "faultinject/campaign/campaign_report.h"

namespace uldd::campaign {

Status write_report_plots(const CampaignReport& r, const std::filesystem::path& dir);

}  // namespace uldd::campaign
