/* irq.h - how a device drives its interrupt line. */
#ifndef MINNOW_IRQ_H
#define MINNOW_IRQ_H

#include <stdbool.h>

/* An interrupt controller input, as seen by a device. set_level() may be
 * called from any thread; asserting an already asserted line is harmless. */
struct irq_sink {
	void (*set_level)(void *opaque, unsigned gsi, bool level);
	void *opaque;
};

#endif
