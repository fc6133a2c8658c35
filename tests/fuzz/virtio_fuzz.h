/* virtio_fuzz.h - what the virtio harnesses share: a driver's bring-up of queue 0 from the
 * input, and the checks of register reads and of the transport's state after any access. */
#ifndef MINNOW_VIRTIO_FUZZ_H
#define MINNOW_VIRTIO_FUZZ_H

#include "fuzz.h"
#include "guest_mem.h"
#include "virtio_mmio.h"

/* The `what` byte of virtio_fuzz_setup(). */
#define SETUP_EVENT_IDX	  0x01
#define SETUP_INDIRECT	  0x02
#define SETUP_DEV_FEAT	  0x04 /* accept every device-specific feature offered */
#define SETUP_NO_DRIVEROK 0x08

/* A 4-byte register write or read. */
void wr32(struct virtio_mmio *t, uint64_t off, uint32_t v);
uint32_t rd32(struct virtio_mmio *t, uint64_t off);

/* A driver's bring-up from the input: u8 what, u8 log2 size, u16 desc, u16 avail, u16 used
 * (queue 0's rings at those guest addresses), features as `what` says. */
void virtio_fuzz_setup(struct virtio_mmio *t, struct fuzz_input *in);

/* What a register read of `len` bytes at `off` (returned in buf) must be whatever happened
 * before. */
void check_read(struct virtio_mmio *t, uint64_t off, unsigned len, const uint8_t *buf);

/* The transport's state after any access: DRIVER_OK only after FEATURES_OK with offered
 * features, InterruptStatus bits, ready queues valid and inside `mem`. */
void check_transport(struct virtio_mmio *t, const struct guest_mem *mem, const char *name);

/* The lowest file descriptor not in use (compared before and after an
 * input: nothing may leak). */
int lowest_free_fd(void);

/* An offset of an access of `len` bytes inside one device's register page. */
uint64_t clamp_offset(uint16_t v, unsigned len);

#endif
