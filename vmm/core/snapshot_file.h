/* snapshot_file.h - the snapshot state file: a header (magic, format
 * version, payload length, CRC-32 of the payload) and a payload of tagged
 * sections, each {uint32 tag, uint32 index, uint64 length, bytes, zeros to
 * the next multiple of 8}: every section starts 8-byte aligned. Numbers
 * are in the host's byte order: a snapshot is restored on a host like the
 * one that took it. Guest memory is a file of its own (snapshot.h). */
#ifndef MINNOW_SNAPSHOT_FILE_H
#define MINNOW_SNAPSHOT_FILE_H

#include <stddef.h>
#include <stdint.h>

#define SNAPSHOT_MAGIC	 "MINNOWST"
#define SNAPSHOT_VERSION 2

/* What a section holds (the index tells instances apart: vCPU, slot). */
enum snap_tag {
	SNAP_LAYOUT = 1, /* struct snap_layout */
	SNAP_VCPU,	 /* struct vcpu_state, index = vCPU */
	SNAP_CLOCK,	 /* struct kvm_clock_data */
	SNAP_IOAPIC,	 /* ioapic_state */
	SNAP_UART,	 /* uart_state */
	SNAP_ACPI_PM,	 /* uint8_t sleep status */
	SNAP_VIRTIO,	 /* virtio_mmio_state, index = slot */
	SNAP_GED,	 /* uint32_t pending events */
	SNAP_CONFIG,	 /* the VM's configuration as ini text (config_print()), NUL-terminated */
};

/* A state file being built in memory. */
struct snap_writer {
	uint8_t *buf;
	size_t len, cap;
	int error; /* 0, or -ENOMEM once an append failed */
};

/* Appends a section; a failure is remembered in w->error. */
void snap_add(struct snap_writer *w, uint32_t tag, uint32_t index, const void *data, size_t len);

/* Writes header and sections to `fd` (a new file) and fsyncs it; frees
 * the writer. Returns 0 or -errno. */
int snap_write_fd(struct snap_writer *w, int fd);

/* A state file read and checked. */
struct snap_reader {
	uint8_t *buf; /* the payload */
	size_t len;
};

/* Reads `path` and checks magic, version, length and checksum. Returns 0,
 * or -1 with a one-line reason (without the path) in why. */
int snap_read_file(struct snap_reader *r, const char *path, char *why, size_t whylen);

/* The same on bytes in memory (a copy is made). */
int snap_read_bytes(struct snap_reader *r, const void *data, size_t len, char *why, size_t whylen);

/* The section (tag, index): a pointer to its bytes and *len, or NULL. */
const void *snap_find(const struct snap_reader *r, uint32_t tag, uint32_t index, size_t *len);

void snap_reader_free(struct snap_reader *r);

#endif
