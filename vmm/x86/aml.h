/* aml.h - a tiny encoder for the AML byte code minnow's DSDT needs: names,
 * integers, strings, packages, scopes, devices and resource templates. */
#ifndef MINNOW_AML_H
#define MINNOW_AML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A growing byte buffer. Errors are sticky: after the first failure
 * (allocation, a bad name or string, a length beyond AML's limits) every
 * call does nothing and `failed` stays set, so a caller checks once, at
 * the end. */
struct aml {
	uint8_t *data;
	size_t len;
	size_t cap;
	bool failed;
};

/* The largest object length a PkgLength can express (2^28 - 1). */
#define AML_PKG_LENGTH_MAX 0x0FFFFFFFu

/* Empties `a` (no allocation yet). */
void aml_init(struct aml *a);

/* Frees the buffer; `a` may be reused after aml_init(). */
void aml_free(struct aml *a);

/* Appends raw bytes. */
void aml_bytes(struct aml *a, const void *p, size_t n);
void aml_byte(struct aml *a, uint8_t b);

/* Encodes into out[4] the PkgLength of an object whose content after the
 * PkgLength is `content_len` bytes: the encoded value also counts the
 * PkgLength bytes themselves (1 to 4 of them, the fewest that fit).
 * Returns how many bytes, or 0 when the length exceeds AML_PKG_LENGTH_MAX. */
size_t aml_pkg_length(uint32_t content_len, uint8_t out[4]);

/* Opens an object whose PkgLength precedes its content: returns the
 * position to hand to aml_pkg_end() once the content is written. */
size_t aml_pkg_begin(const struct aml *a);

/* Inserts, at `start`, the PkgLength covering everything written since
 * aml_pkg_begin(). Objects nest: close them innermost first. */
void aml_pkg_end(struct aml *a, size_t start);

/* A NameString: an optional leading '\' (root), then segments of 1-4
 * characters ([A-Z_] then [A-Z0-9_]) separated by '.', each padded with
 * '_' to 4 ("\\_SB" -> '\' "_SB_"). A bad name sets `failed`. */
void aml_name_string(struct aml *a, const char *path);

/* Integer constants: ZeroOp, OneOp, or the smallest of Byte/Word/DWord/
 * QWord constant that holds `v`. */
void aml_integer(struct aml *a, uint64_t v);

/* A String: printable ASCII, NUL-terminated in the encoding. */
void aml_string(struct aml *a, const char *s);

/* An EISA ID such as "PNP0501" (three upper-case letters, four upper-case
 * hex digits) compressed into a DWord constant, as ASL's EisaId() does. */
void aml_eisaid(struct aml *a, const char *id);

/* Name(path, ...): writes NameOp and the name; the caller then writes
 * exactly one data object (integer, string, package or buffer). */
void aml_name_decl(struct aml *a, const char *path);

/* Scope(path) { ... } and Device(path) { ... }: return the position to
 * close with aml_pkg_end(). */
size_t aml_scope_begin(struct aml *a, const char *path);
size_t aml_device_begin(struct aml *a, const char *path);

/* Package(n) { ... } holding `n` elements the caller writes next (data
 * objects only); close with aml_pkg_end(). */
size_t aml_package_begin(struct aml *a, uint8_t n);

/* Buffer() { bytes }: a BufferOp with its size and content. */
void aml_buffer(struct aml *a, const void *bytes, size_t n);

/* ---- Resource descriptors, written into their own struct aml, then
 * wrapped by aml_resource_template(). ------------------------------------- */

/* Memory32Fixed(ReadWrite or ReadOnly, base, len). */
void aml_res_memory32_fixed(struct aml *r, bool writable, uint32_t base, uint32_t len);

enum aml_trigger { AML_LEVEL = 0, AML_EDGE = 1 };
enum aml_polarity { AML_ACTIVE_HIGH = 0, AML_ACTIVE_LOW = 1 };

/* Interrupt(ResourceConsumer, trigger, polarity, Exclusive) { gsi }: the
 * extended interrupt descriptor with one interrupt number. */
void aml_res_interrupt(struct aml *r, enum aml_trigger trigger, enum aml_polarity polarity,
		       uint32_t gsi);

/* ResourceTemplate() { the descriptors in r }: appends the end tag to `r`
 * and writes the Buffer into `a`. A failure in `r` fails `a`. */
void aml_resource_template(struct aml *a, struct aml *r);

#endif
