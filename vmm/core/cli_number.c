/* cli_number.c - whole numbers from the command line. */
#include "cli_number.h"

#include <errno.h>
#include <stdlib.h>

bool cli_number(const char *s, long lo, long hi, long *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return false;
	*out = v;
	return true;
}
