/* cli_number.h - whole numbers from the command line. */
#ifndef MINNOW_CLI_NUMBER_H
#define MINNOW_CLI_NUMBER_H

#include <stdbool.h>

/* Whether `s` is a whole decimal number in [lo, hi] (nothing else, no
 * blanks); stores it in *out when it is. */
bool cli_number(const char *s, long lo, long hi, long *out);

#endif
