// The org.uldd.Supervisor1.Manager interface (docs/dbus-api.md) at
// /org/uldd/Supervisor1: list and read devices, reload policies, the log
// level, metrics, fault types, and the signals DeviceStateChanged, Recovered
// and FaultInjected. The vtable's userdata is the ServiceContext.
#pragma once

#include <systemd/sd-bus.h>

namespace uldd::dbus {

const sd_bus_vtable* manager_vtable();

}  // namespace uldd::dbus
