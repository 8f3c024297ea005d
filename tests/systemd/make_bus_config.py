#!/usr/bin/python3
# Writes the configuration of a private dbus-daemon that enforces the same
# policy as Debian's system bus: the <policy> sections of
# /usr/share/dbus-1/system.conf (owning names and method calls denied by
# default), listening on a socket of the test's own, without the host's
# system.d/ files, and including POLICY_FILE unless it is "-".
#   make_bus_config.py SOCKET_PATH POLICY_FILE|- > bus.conf
import sys
import xml.etree.ElementTree as ET

socket_path, policy_file = sys.argv[1], sys.argv[2]
system = ET.parse("/usr/share/dbus-1/system.conf").getroot()
out = ET.Element("busconfig")
ET.SubElement(out, "type").text = "system"
ET.SubElement(out, "listen").text = f"unix:path={socket_path}"
ET.SubElement(out, "auth").text = "EXTERNAL"
for policy in system.findall("policy"):
    out.append(policy)
if policy_file != "-":
    ET.SubElement(out, "include").text = policy_file
sys.stdout.write('<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"\n'
                 ' "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">\n')
sys.stdout.write(ET.tostring(out, encoding="unicode") + "\n")
