/* aml.h - a tiny encoder for the AML byte code minnow's DSDT needs: names,
 * integers, strings, packages, scopes, devices, resource templates, and the
 * few operators of the GED's event method (operation region and field,
 * Store, And, If, Notify) and of the VM generation ID's ADDR (Return). */
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

/* ---- Control methods and what they need ----------------------------------
 * AML is prefix code: an operator's call writes its opcode, then the caller
 * writes its operands in order (as with aml_name_decl()). */

/* Method(path, nargs (0-7), Serialized or NotSerialized) { ... }: returns
 * the position to close with aml_pkg_end(). */
size_t aml_method_begin(struct aml *a, const char *path, unsigned nargs, bool serialized);

/* OperationRegion(path, SystemMemory, base, len). */
void aml_region_memory(struct aml *a, const char *path, uint64_t base, uint64_t len);

enum aml_access { AML_ACCESS_BYTE = 1, AML_ACCESS_WORD = 2, AML_ACCESS_DWORD = 3 };

/* Field(region, access, NoLock, Preserve) { ... }: the units follow with
 * aml_field_unit(); close with aml_pkg_end(). */
size_t aml_field_begin(struct aml *a, const char *region, enum aml_access access);

/* One named field unit `bits` wide (1 .. 2^28 - 1), name a single segment. */
void aml_field_unit(struct aml *a, const char *name, uint32_t bits);

/* LocalN (0-7), ArgN (0-6); a bad index sets `failed`. */
void aml_local(struct aml *a, unsigned n);
void aml_arg(struct aml *a, unsigned n);

/* Store(source, target): the caller writes source, then target. */
void aml_store(struct aml *a);

/* And(x, y, target): the caller writes x, y, then the target (a name, a
 * local, or aml_no_target()). */
void aml_and(struct aml *a);

/* The target "none" of an operator whose result is only used as a value. */
void aml_no_target(struct aml *a);

/* If (predicate) { ... }: the caller writes the predicate, then the body;
 * close with aml_pkg_end(). */
size_t aml_if_begin(struct aml *a);

/* Notify(path, value). */
void aml_notify(struct aml *a, const char *path, uint8_t value);

/* Return(value): the caller writes the value (a data object, a local...). */
void aml_return(struct aml *a);

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
