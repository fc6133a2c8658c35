/* test_hooks.c - minnow-testhooks' power-button trigger (test_hooks.h):
 * a timerfd on the main loop that waits for boot complete, then for the
 * delay, then presses the button. Linked into minnow-testhooks only. */
#include "test_hooks.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "ged.h"
#include "log.h"
#include "timing.h"
#include "vm.h"

#ifndef MINNOW_TEST_HOOKS
#error "test_hooks.c is for minnow-testhooks only (-DMINNOW_TEST_HOOKS)"
#endif

#define POWER_BUTTON_ENV    "MINNOW_TEST_POWER_BUTTON_MS"
#define BOOT_POLL_MS	    10
#define POWER_BUTTON_MAX_MS 3600000UL

static struct {
	struct vm *vm;
	int fd;
	uint64_t delay_us;
	bool waiting_boot; /* polling for boot complete; then one shot */
} button = {.fd = -1};

static int arm(uint64_t us, bool periodic)
{
	struct itimerspec its = {
	    .it_value = {(time_t)(us / 1000000), (long)(us % 1000000) * 1000},
	};
	if (its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0)
		its.it_value.tv_nsec = 1; /* zero would disarm it */
	if (periodic)
		its.it_interval = its.it_value;
	return timerfd_settime(button.fd, 0, &its, NULL) < 0 ? -errno : 0;
}

static void on_button_timer(void *opaque, uint32_t events)
{
	uint64_t n;
	(void)opaque;
	(void)events;
	(void)!read(button.fd, &n, sizeof(n));
	if (button.waiting_boot) {
		uint64_t booted = timing_get(T_BOOT_COMPLETE);
		if (booted == UINT64_MAX)
			return;
		button.waiting_boot = false;
		uint64_t since = timing_now_us() - booted;
		if (arm(button.delay_us > since ? button.delay_us - since : 0, false) < 0)
			log_error("test hook: " POWER_BUTTON_ENV ": timer: %s", strerror(errno));
		return;
	}
	log_error("test hook: pressing the power button");
	ged_power_button(&button.vm->ged);
}

int test_hooks_start(struct vm *vm)
{
	const char *v = getenv(POWER_BUTTON_ENV);
	if (!v)
		return 0;
	char *end;
	errno = 0;
	unsigned long ms = strtoul(v, &end, 10);
	if (!*v || *end || errno || ms > POWER_BUTTON_MAX_MS) {
		log_error("test hook: %s=%s: want milliseconds, 0 to %lu", POWER_BUTTON_ENV, v,
			  POWER_BUTTON_MAX_MS);
		return -EINVAL;
	}
	if (!vm->cfg->acpi) {
		log_error("test hook: %s: no power button without ACPI", POWER_BUTTON_ENV);
		return -EINVAL;
	}
	button.vm = vm;
	button.delay_us = (uint64_t)ms * 1000;
	button.waiting_boot = true;
	button.fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	int r = button.fd < 0 ? -errno : arm(BOOT_POLL_MS * 1000, true);
	if (r == 0)
		r = event_loop_add(&vm->loop, button.fd, EPOLLIN, on_button_timer, NULL);
	if (r < 0)
		log_error("test hook: %s: %s", POWER_BUTTON_ENV, strerror(-r));
	return r;
}

void test_hooks_stop(struct vm *vm)
{
	if (button.fd < 0)
		return;
	(void)event_loop_remove(&vm->loop, button.fd);
	close(button.fd);
	button.fd = -1;
}
