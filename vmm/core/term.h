/* term.h - the controlling terminal in raw mode while a guest console owns
 * it, restored on every way out of the process. */
#ifndef MINNOW_TERM_H
#define MINNOW_TERM_H

/* When fd is a terminal: saves its settings, switches it to raw input (no
 * echo, no line editing, no signals from keys; output processing kept), and
 * arranges for term_restore() at exit and on fatal signals. Returns 1 when
 * raw mode is on, 0 when fd is not a terminal. */
int term_raw(int fd);

/* Restores the saved settings, if any. Async-signal-safe; idempotent. */
void term_restore(void);

#endif
