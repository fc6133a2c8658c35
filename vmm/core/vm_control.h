/* vm_control.h - driving a running VM from outside: the control socket
 * ([vm] control_socket, --control; protocol in control_proto.h) and the
 * metrics file ([vm] metrics_file, one metrics.h object per line every
 * metrics_interval and once at the end).
 *
 * One VM per minnow process, so this is process-wide state. Both files are
 * opened before the VM exists and before a jail confines minnow (their
 * paths lie outside the jail); the requests are served on the VM's event
 * loop, like the devices, and never wait: a pause is answered once every
 * vCPU has parked, a client that does not read its answers is dropped. */
#ifndef MINNOW_VM_CONTROL_H
#define MINNOW_VM_CONTROL_H

#include "config.h"
#include "vm.h"

/* At most this many clients at once; more are answered with an error and
 * closed. */
#define CONTROL_MAX_CLIENTS 16

/* Opens what cfg names: the control socket (mode 0600; a stale socket
 * file is replaced, a live one refused) and the metrics file (appended,
 * created 0600). Returns 0, or EXIT_CONFIG after one line naming the file
 * and the config key. Nothing to do when cfg names neither. */
int vm_control_open(const struct vm_config *cfg);

/* Puts the listener, the VM's pause eventfd and the metrics timer on
 * vm->loop. After vm_create(), before vm_run(). Returns 0 or an exit
 * status after one line. */
int vm_control_attach(struct vm *vm);

/* After vm_run() (the loop no longer runs): writes the metrics file's last
 * line and closes the clients. The VM still exists. */
void vm_control_detach(struct vm *vm);

/* Closes the process's copies of the fds and keeps the paths: a jail's
 * outer process, whose VMM child serves them. */
void vm_control_forget_fds(void);

/* Closes what is open and removes the socket file if it is still ours. */
void vm_control_close(void);

#endif
