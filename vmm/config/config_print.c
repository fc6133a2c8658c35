/* config_print.c - the resolved configuration written back as ini text (config_print()). */
#include "config_internal.h"

static const char *onoff(bool b)
{
	return b ? "on" : "off";
}

static void print_output(FILE *out, enum console_target target, const struct config_path *path)
{
	fprintf(out, "output = %s\n", cfg_vconsole_target_names[target]);
	if (target == CONSOLE_FILE || target == CONSOLE_SOCKET)
		fprintf(out, "path = %s\n", path->path);
}

/* An unsigned "auto" key: 0 is auto. */
static void print_auto(FILE *out, const char *key, unsigned long long v, bool size)
{
	char buf[32];
	if (!v)
		fprintf(out, "%s = auto\n", key);
	else if (size)
		fprintf(out, "%s = %s\n", key, cfg_fmt_size(v, buf, sizeof(buf)));
	else
		fprintf(out, "%s = %llu\n", key, v);
}

/* The rate-limit keys that are set (0 = unlimited is the default). */
static void print_limits(FILE *out, const char *prefix, const struct rate_limit_config *l,
			 const char *ops_name)
{
	char size[32];
	if (l->bandwidth)
		fprintf(out, "%sbandwidth = %s\n", prefix,
			cfg_fmt_size(l->bandwidth, size, sizeof(size)));
	if (l->bandwidth_burst)
		fprintf(out, "%sbandwidth_burst = %s\n", prefix,
			cfg_fmt_size(l->bandwidth_burst, size, sizeof(size)));
	if (l->ops)
		fprintf(out, "%s%s = %u\n", prefix, ops_name, l->ops);
	if (l->ops_burst)
		fprintf(out, "%s%s_burst = %u\n", prefix, ops_name, l->ops_burst);
}

static void print_jail(const struct jail_config *j, FILE *out)
{
	char size[32];
	fprintf(out, "\n[jail]\ndir = %s\nuid = %u\ngid = %u\nnetns = %s\n", j->dir.path, j->uid,
		j->gid, cfg_netns_names[j->netns]);
	print_auto(out, "nofile", j->nofile, false);
	print_auto(out, "nproc", j->nproc, false);
	print_auto(out, "fsize", j->fsize, true);
	fprintf(out, "cgroup = %s\n", j->cgroup);
	if (j->cpu_max[0])
		fprintf(out, "cpu_max = %s\n", j->cpu_max);
	if (j->memory_max)
		fprintf(out, "memory_max = %s\n", cfg_fmt_size(j->memory_max, size, sizeof(size)));
	if (j->pids_max)
		fprintf(out, "pids_max = %u\n", j->pids_max);
}

void config_print(const struct vm_config *cfg, FILE *out)
{
	char size[32];

	fprintf(out, "[vm]\nname = %s\nvcpus = %u\nmemory = %s\nprefault = %s\nacpi = %s\n",
		cfg->name, cfg->vcpus, cfg_fmt_size(cfg->memory, size, sizeof(size)),
		onoff(cfg->prefault), onoff(cfg->acpi));
	fprintf(out, "pvpanic = %s\n", onoff(cfg->pvpanic));
	if (cfg->boot_timeout_ms && cfg->boot_timeout_ms % 1000 == 0)
		fprintf(out, "boot_timeout = %us\n", cfg->boot_timeout_ms / 1000);
	else if (cfg->boot_timeout_ms)
		fprintf(out, "boot_timeout = %ums\n", cfg->boot_timeout_ms);
	else
		fprintf(out, "boot_timeout = 0\n");
	if (cfg->control_socket.path[0])
		fprintf(out, "control_socket = %s\n", cfg->control_socket.path);
	if (cfg->metrics_file.path[0])
		fprintf(out, "metrics_file = %s\n", cfg->metrics_file.path);
	fprintf(out, "metrics_interval = %ums\n", cfg->metrics_interval_ms);
	if (cfg->restore.path[0])
		fprintf(out, "restore = %s\n", cfg->restore.path);

	fprintf(out, "\n[kernel]\npath = %s\n", cfg->kernel.path);
	if (cfg->initrd.path[0])
		fprintf(out, "initrd = %s\n", cfg->initrd.path);
	fprintf(out, "cmdline = %s\nformat = %s\ndecompress = %s\ncmdline_devices = %s\n",
		cfg->cmdline, cfg_format_names[cfg->format], cfg_decompress_names[cfg->decompress],
		onoff(cfg->cmdline_devices));

	fprintf(out, "\n[console]\n");
	print_output(out, cfg->console, &cfg->console_path);
	fprintf(out, "input = %s\n", onoff(cfg->console_input));
	fprintf(out, "coalesce = %s\n", onoff(cfg->console_coalesce));

	for (size_t i = 0; i < cfg->n_drives; i++) {
		const struct drive_config *d = &cfg->drives[i];
		fprintf(out, "\n[drive.%s]\npath = %s\nreadonly = %s\ncache = %s\nio = %s\n",
			d->name, d->path.path, onoff(d->readonly), cfg_cache_names[d->cache],
			cfg_drive_io_names[d->io]);
		if (d->serial[0])
			fprintf(out, "serial = %s\n", d->serial);
		print_limits(out, "", &d->limit, "iops");
	}
	for (size_t i = 0; i < cfg->n_nets; i++) {
		const struct net_config *n = &cfg->nets[i];
		fprintf(out, "\n[net.%s]\ntap = %s\n", n->name, n->tap);
		if (n->mac_set)
			fprintf(out, "mac = %02x:%02x:%02x:%02x:%02x:%02x\n", n->mac[0], n->mac[1],
				n->mac[2], n->mac[3], n->mac[4], n->mac[5]);
		print_limits(out, "rx_", &n->rx, "pps");
		print_limits(out, "tx_", &n->tx, "pps");
	}
	for (size_t i = 0; i < cfg->n_fs; i++) {
		const struct fs_config *f = &cfg->fs[i];
		fprintf(out, "\n[fs.%s]\ntag = %s\n", f->name, f->tag);
		if (f->host_dir.path[0])
			fprintf(out, "host_dir = %s\nreadonly = %s\ncache = %s\nvirtiofsd = %s\n",
				f->host_dir.path, onoff(f->readonly), cfg_fs_cache_names[f->cache],
				f->virtiofsd.path);
		if (f->socket.path[0])
			fprintf(out, "socket = %s\n", f->socket.path);
	}
	if (cfg->vsock)
		fprintf(out, "\n[vsock]\ncid = %u\nuds_path = %s\n", cfg->vsock_cid,
			cfg->vsock_uds.path);
	fprintf(out, "\n[rng]\nenabled = %s\n", onoff(cfg->rng));
	if (cfg->vconsole) {
		fprintf(out, "\n[vconsole]\n");
		print_output(out, cfg->vconsole_output, &cfg->vconsole_path);
	}
	if (cfg->jailed)
		print_jail(&cfg->jail, out);
	fprintf(out, "\n[security]\nseccomp = %s\n", cfg_seccomp_names[cfg->seccomp]);
}
