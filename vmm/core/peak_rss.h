/* peak_rss.h - the peak resident set size of this process image alone.
 *
 * Not getrusage()'s ru_maxrss: at execve Linux keeps in it the peak of the
 * memory the process had before (for a child made by fork or vfork, its
 * parent's), so under a large parent, such as `minnow batch` after many VMs
 * or a test harness that holds a few hundred MiB, minnow would report the
 * parent's peak as its own. VmHWM in /proc/self/status counts only the
 * memory of the image that runs now. */
#ifndef MINNOW_PEAK_RSS_H
#define MINNOW_PEAK_RSS_H

#include <stdint.h>

/* Opens /proc/self/status for peak_rss_kib(). Call it before the jail and
 * the seccomp filters take /proc and open() away. Returns the fd, or -1
 * (peak_rss_kib() then falls back to getrusage). */
int peak_rss_open(void);

/* This process's peak RSS in KiB: VmHWM read through `fd`, which it closes;
 * ru_maxrss when fd is -1 or holds no VmHWM line (then the figure may be
 * the parent's, as above). 0 when neither can be read. */
uint64_t peak_rss_kib(int fd);

/* The VmHWM figure (KiB) of a /proc/PID/status text; 0 when it has none. */
uint64_t peak_rss_parse(const char *status);

#endif
