// The org.uldd.Supervisor1.Device interface (docs/dbus-api.md): one object
// per configured device below /org/uldd/Supervisor1/device, served by one
// fallback vtable whose find callback checks the device exists and whose node
// enumerator lists control.devices() (introspection, ObjectManager). The
// vtable is also the one list of device properties: GetDevice's a{sv} walks it.
#pragma once

#include <systemd/sd-bus.h>

#include "supervisor/control/device_snapshot.h"
#include "supervisor/dbus/service_context.h"

namespace uldd::dbus {

const sd_bus_vtable* device_vtable();

// sd_bus_object_find_t: `userdata` is the ServiceContext. An unknown device
// name below the prefix fails with NoSuchDevice.
int find_device_object(sd_bus* bus, const char* path, const char* interface, void* userdata,
                       void** found, sd_bus_error* error);
// sd_bus_node_enumerator_t: every device's object path.
int enumerate_device_objects(sd_bus* bus, const char* prefix, void* userdata, char*** nodes,
                             sd_bus_error* error);

// Appends every Device property of `device` to `reply` as an open a{sv}
// (GetDevice's answer), using the vtable's own getters.
int append_device_properties(sd_bus_message* reply, ServiceContext& context,
                             const supervisor::DeviceSnapshot& device, sd_bus_error* error);

// The names of the properties that emit PropertiesChanged (in vtable order).
inline constexpr const char* kDeviceSignalledProperties[] = {
    "State", "DriverPid", "StandbyPid", "Restarts", "LastFault", "LastDowntimeUsec"};

}  // namespace uldd::dbus
