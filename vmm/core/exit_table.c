/* exit_table.c - the exit table of the --timings report (exit_table.h). */
#include "exit_table.h"

static const char *const kind_names[EXIT_KIND_COUNT] = {
    [EXIT_KIND_MMIO] = "mmio", [EXIT_KIND_PIO] = "pio", [EXIT_KIND_EOI] = "ioapic_eoi",
    [EXIT_KIND_INTR] = "intr", [EXIT_KIND_HLT] = "hlt", [EXIT_KIND_OTHER] = "other",
};

const char *exit_kind_name(enum exit_kind kind)
{
	return (unsigned)kind < EXIT_KIND_COUNT ? kind_names[kind] : "?";
}

void exit_table_from_bus(struct exit_table *t, const struct bus *bus)
{
	t->n_ranges = bus->count;
	for (size_t i = 0; i < bus->count; i++) {
		struct exit_range *r = &t->ranges[i];
		r->name = bus->ranges[i].name;
		r->base = bus->ranges[i].base;
		bus_counts(bus, i, &r->reads, &r->writes);
		r->coalesced = bus_coalesced(bus, i);
	}
}

static void print_json(FILE *out, const struct exit_table *t)
{
	fprintf(out, "\"exit_kinds\":{");
	for (int k = 0; k < EXIT_KIND_COUNT; k++)
		fprintf(out, "%s\"%s\":%llu", k ? "," : "", kind_names[k],
			(unsigned long long)t->kinds[k]);
	fprintf(out, "},\"mmio_ranges\":[");
	for (size_t i = 0; i < t->n_ranges; i++) {
		const struct exit_range *r = &t->ranges[i];
		fprintf(out,
			"%s{\"name\":\"%s\",\"base\":%llu,\"reads\":%llu,\"writes\":%llu,"
			"\"coalesced\":%llu}",
			i ? "," : "", r->name ? r->name : "", (unsigned long long)r->base,
			(unsigned long long)r->reads, (unsigned long long)r->writes,
			(unsigned long long)r->coalesced);
	}
	fprintf(out, "]");
}

void exit_table_print(FILE *out, int json, const struct exit_table *t)
{
	if (json) {
		print_json(out, t);
		return;
	}
	fprintf(out, "  exits by kind:");
	for (int k = 0; k < EXIT_KIND_COUNT; k++)
		fprintf(out, "%s %s %llu", k ? "," : "", kind_names[k],
			(unsigned long long)t->kinds[k]);
	fprintf(out, "\n  MMIO exits by device:");
	for (size_t i = 0; i < t->n_ranges; i++) {
		const struct exit_range *r = &t->ranges[i];
		if (!r->reads && !r->writes && !r->coalesced)
			continue;
		fprintf(out, " %s@0x%llx %llu reads/%llu writes", r->name ? r->name : "?",
			(unsigned long long)r->base, (unsigned long long)r->reads,
			(unsigned long long)r->writes);
		if (r->coalesced)
			fprintf(out, " (+%llu coalesced)", (unsigned long long)r->coalesced);
		fprintf(out, ",");
	}
	fprintf(out, " unclaimed %llu\n", (unsigned long long)t->unclaimed);
}
