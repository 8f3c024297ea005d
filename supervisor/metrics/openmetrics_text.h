// render_openmetrics: the supervisor's figures as an OpenMetrics text
// exposition (https://openmetrics.io, the format Prometheus scrapes and
// node_exporter's textfile collector reads), made from the same
// DeviceSnapshots the D-Bus API shows. Every sample carries the labels
// device="disk0",kind="disk". Families:
//   uldd_device_state            stateset  one sample per state, 1 for the current
//   uldd_driver_up               gauge     1 while a driver process runs
//   uldd_restarts_total          counter   label mode="warm"|"cold"
//   uldd_standby_promotions_total, uldd_warm_refused_total, uldd_requests_resent_total
//   uldd_faults_total            counter   label cause="crashed"|"hung"|...
//   uldd_recovery_downtime_seconds histogram (failure detected -> first
//                                          completion; kDowntimeBucketsUs)
//   uldd_recovery_downtime_last_seconds, uldd_recovery_downtime_max_seconds gauges
//   uldd_io_<key>                one per key of DeviceSnapshot::io: a counter
//                                (uldd_io_reads_total), or a gauge for levels
//                                (requests_open, *_posted)
// and ends with "# EOF". Families are sorted by name; samples within one by
// device order. Label values are escaped (\\, \", \n).
#pragma once

#include <string>
#include <vector>

#include "supervisor/control/device_snapshot.h"

namespace uldd::supervisor::metrics {

std::string render_openmetrics(const std::vector<DeviceSnapshot>& devices);

// A value in OpenMetrics' canonical float form: "0.0005", "1.0", "10.0".
std::string openmetrics_float(double value);

}  // namespace uldd::supervisor::metrics
