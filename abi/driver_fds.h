// The file descriptors a driver process is given, at fixed numbers. The
// supervisor binds exactly these (and stdio) into the child; every other fd is
// closed before exec. The driver opens nothing on its own.
#pragma once

namespace uldd::abi {

enum DriverFd : int {
  kFdControlBlock = 3,  // memfd, ControlBlock
  kFdRingRegion = 4,    // memfd, RingRegion
  kFdCheckpoint = 5,    // memfd, CheckpointRegion
  kFdDriverWake = 6,    // eventfd: the shim kicks the driver (requests posted / completion space)
  kFdShimWake = 7,      // eventfd: the driver kicks the shim (completions posted / request space)
  kFdDma = 8,           // memfd, the device's DMA region
  // The device, by UIO backend (named on the driver's command line, --uio=...):
  //   emulated: BAR memfd, IRQ eventfd (device -> driver), doorbell eventfd (driver -> device)
  //   kernel:   BAR0 (resource0 or /dev/uioN), /dev/uioN, PCI config file (the
  //             driver unmasks INTx there: uio_pci_generic has no irqcontrol)
  kFdUioBar = 9,
  kFdUioIrq = 10,
  kFdUioAux = 11,
  kDriverFdCount = 12,
  // Hot standby only (--standby): an eventfd the supervisor signals to promote
  // the waiting process; DriverLaunch says how to resume.
  kFdStandbyRelease = 12,
  // Kernel backend only (--uio=kernel): the sealed, read-only DmaAddressTable
  // memfd (abi/dma_address_table.h), the bus address of every DMA page.
  kFdDmaTable = 13,
};

}  // namespace uldd::abi
