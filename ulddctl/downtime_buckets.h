// The recovery downtime histogram's buckets are in the metrics exposition
// (GetMetrics) but not among a device's D-Bus properties, which give only
// last/max/total/count. `ulddctl status DEVICE` reads them from the metrics
// text: any histogram family whose name mentions "downtime", with the
// device's label, in seconds (the OpenMetrics base unit) or microseconds.
#pragma once

#include <string_view>

#include "supervisor/control/device_snapshot.h"

namespace uldd::ctl {

// Fills histogram->buckets (cumulative, as kDowntimeBucketsUs) for `device`;
// false when the text holds no downtime bucket for it.
bool read_downtime_buckets(std::string_view metrics_text, std::string_view device,
                           supervisor::DowntimeHistogram* histogram);

}  // namespace uldd::ctl
