// Descriptor numbers a device model process (uldd-hw) inherits from the
// supervisor. The supervisor owns every region a device model touches (so they
// outlive any driver), and hands them over at fixed numbers, the way systemd
// socket activation does from fd 3 on: no handshake, no fd passing over a
// socket, and a model started by hand from a test harness needs only dup2().
#pragma once

namespace uldd::hw {

enum DeviceModelFd : int {
  // BAR0 memfd (at least 0x2000 bytes): registers and doorbells. Created by the
  // supervisor; the driver writes CC/AQA/ASQ/ACQ/INTMS/INTMC/doorbells, the
  // model writes CAP/VS/CSTS.
  kModelFdBar = 3,
  // DMA region memfd: queues, PRP lists and data buffers, addressed by IOVA =
  // offset into the region. Created by the supervisor; written by all three.
  kModelFdDma = 4,
  // Interrupt eventfd: the model signals it, the driver waits on it.
  kModelFdIrq = 5,
  // Doorbell eventfd: the driver kicks it after every register write (as a KVM
  // ioeventfd would), the model waits on it and then looks at what changed.
  kModelFdDoorbell = 6,
};

}  // namespace uldd::hw
