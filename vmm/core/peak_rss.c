/* peak_rss.c - the peak RSS of this process image alone (peak_rss.h). */
#include "peak_rss.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

int peak_rss_open(void)
{
	return open("/proc/self/status", O_RDONLY | O_CLOEXEC);
}

uint64_t peak_rss_parse(const char *status)
{
	const char *p = status;
	while (p && strncmp(p, "VmHWM:", 6) != 0) {
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	if (!p)
		return 0;
	char *end;
	unsigned long long kib = strtoull(p + 6, &end, 10);
	return end != p + 6 && strncmp(end, " kB", 3) == 0 ? kib : 0;
}

uint64_t peak_rss_kib(int fd)
{
	uint64_t kib = 0;
	if (fd >= 0) {
		char buf[4096]; /* the status file is about 1.5 KiB; VmHWM is in its first half */
		ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
		buf[n > 0 ? n : 0] = '\0';
		kib = peak_rss_parse(buf);
		close(fd);
	}
	struct rusage ru;
	if (kib == 0 && getrusage(RUSAGE_SELF, &ru) == 0)
		kib = (uint64_t)ru.ru_maxrss;
	return kib;
}
