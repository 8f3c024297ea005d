// Descriptor numbers a device model process (uldd-hw) inherits from the
// supervisor. The supervisor owns every region a device model touches (so they
// outlive any driver), and hands them over at fixed numbers, the way systemd
// socket activation does from fd 3 on: no handshake, no fd passing over a
// socket, and a model started by hand from a test harness needs only dup2().
#pragma once

namespace uldd::hw {

enum DeviceModelFd : int {
  // BAR0 memfd: registers and doorbells. Created by the supervisor. NVMe (at
  // least 0x2000 bytes): the driver writes CC/AQA/ASQ/ACQ/INTMS/INTMC/doorbells,
  // the model writes CAP/VS/CSTS. e1000 (128 KiB, devices/e1000/e1000_spec.h
  // kBarSize): the model publishes an MMIO side band in its last 8 KiB
  // (uio/mmio_sideband.h) and the driver's writes go through its log.
  kModelFdBar = 3,
  // DMA region memfd: queues, PRP lists and data buffers, addressed by IOVA =
  // offset into the region. Created by the supervisor; written by all three.
  kModelFdDma = 4,
  // Interrupt eventfd: the model signals it, the driver waits on it.
  kModelFdIrq = 5,
  // Doorbell eventfd: the driver kicks it after every register write (as a KVM
  // ioeventfd would), the model waits on it and then looks at what changed.
  kModelFdDoorbell = 6,
  // e1000 only, optional: an already-open wire (a TAP opened with
  // IFF_TAP|IFF_NO_PI, an AF_PACKET socket or a SOCK_SEQPACKET socket), one
  // frame per read()/write(), for `uldd-hw e1000 --wire-fd`. Without it the
  // model creates its own TAP (--wire-tap NAME [--wire-netns NS]).
  kModelFdWire = 7,
  // Optional: the read end of the supervisor's lifeline pipe
  // (`--lifeline-fd 8`); the model exits when it hangs up (uldd_hw_main.cc).
  kModelFdLifeline = 8,
  // Optional (`--fault-fd 9`): the device's DeviceFaultRegion memfd
  // (abi/device_fault.h, 4 KiB), through which the supervisor arms device
  // faults and the model reports what it did. Created by the supervisor, never
  // handed to a driver.
  kModelFdFaults = 9,
};

}  // namespace uldd::hw
