#!/usr/bin/python3
# Plays systemd's notify socket for supervisor_notify.sh: binds an AF_UNIX
# datagram socket, and writes one JSON line per datagram to LOG:
#   {"t": monotonic seconds, "pid": sender pid (SCM_CREDENTIALS), "msg": text}
# The moment READY=1 arrives it reads the first 4 KiB of FUSE_FILE and logs
# {"fuse_read": bytes read or an error} - so "ready" is checked at that
# moment, not some time later.
#   notify_listener.py SOCKET LOG FUSE_FILE
import json
import os
import socket
import struct
import sys
import time

sock_path, log_path, fuse_file = sys.argv[1:4]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
s.bind(sock_path)
with open(log_path, "a", buffering=1) as log:
    log.write(json.dumps({"listening": True}) + "\n")
    while True:
        data, anc, _, _ = s.recvmsg(65536, socket.CMSG_SPACE(12))
        pid = 0
        for level, kind, payload in anc:
            if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                pid = struct.unpack("iII", payload[:12])[0]
        msg = data.decode("utf-8", "replace")
        log.write(json.dumps({"t": time.monotonic(), "pid": pid, "msg": msg}) + "\n")
        if "READY=1" in msg.split("\n"):
            try:
                fd = os.open(fuse_file, os.O_RDONLY)
                try:
                    result = len(os.pread(fd, 4096, 0))
                finally:
                    os.close(fd)
            except OSError as e:
                result = f"error: {e}"
            log.write(json.dumps({"fuse_read": result}) + "\n")
