/* exec.h - `minnow exec`: boot a Linux guest, run one command in it with
 * minnow's stdin, stdout and stderr, and exit with its status. */
#ifndef MINNOW_EXEC_H
#define MINNOW_EXEC_H

/* The whole command, argv[0] being "exec" (main() dispatches here).
 * Returns minnow's exit status: CMD's, or one of vm.h's. */
int exec_main(int argc, char **argv);

#endif
