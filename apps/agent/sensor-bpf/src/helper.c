// SPDX-License-Identifier: Apache-2.0
/* palisade-sensor: loads Palisade's eBPF programs and streams their records to stdout.
 *
 * stdout: binary records (records.h), the kernel's as they come, plus H_HELLO once attached,
 *         H_STATS every second and H_ACK for `sync`.
 * stdin:  control lines, applied in order: `tier 1|2`, `ignore PID`, `unignore PID`, `sync SEQ`.
 *         End of stdin (the agent went away) stops the helper.
 * BTF:    CO-RE relocations come from `btf/vmlinux-<id>.btf` next to the executable when it exists
 *         (the build minimizes the running kernel's BTF to the types these programs use; <id> is
 *         what `palisade-sensor --btf-id` prints for the running kernel), else from the kernel's
 *         whole BTF, which libbpf holds twice in memory while loading (~11 MB for a 5.5 MB BTF).
 * stderr: human-readable diagnostics; the last line says why the helper stopped.
 * Exit codes: 0 stopped, 1 usage or internal error, 2 no kernel BTF, 3 no permission,
 *             4 programs failed to load (verifier), 5 attach failed, 6 tracefs unavailable.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <linux/types.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "records.h"
#include "palisade.skel.h"

enum { EXIT_OK = 0, EXIT_USAGE = 1, EXIT_NO_BTF = 2, EXIT_PERM = 3, EXIT_LOAD = 4, EXIT_ATTACH = 5,
       EXIT_TRACEFS = 6 };

/* Batching: records are flushed to the agent at most every FLUSH_MS (or when 256 KiB are
 * pending), and after a burst the helper naps BATCH_US so the next wakeup collects many records.
 * At high event rates this turns one pipe write and one agent wakeup per record into one per
 * batch; the price is up to ~FLUSH_MS of latency. */
#define FLUSH_MS 100
#define FLUSH_BYTES (256 * 1024)
#define BATCH_US 20000

static volatile sig_atomic_t stopping;
static uint32_t noisy_per_sec = 2000;
static size_t pending_bytes;
static int write_failed;
static uint64_t emitted[K_MAX];
static size_t libbpf_log_bytes;

static void die(int code, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "palisade-sensor: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	exit(code);
}

/* libbpf's verifier logs can be megabytes; keep the first 16 KiB so the last line stays ours. */
static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG || libbpf_log_bytes > 16384)
		return 0;
	int n = vfprintf(stderr, fmt, ap);
	if (n > 0)
		libbpf_log_bytes += n;
	return n;
}

static void on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

static int64_t realtime_minus_boottime(void)
{
	struct timespec rt, bt;
	clock_gettime(CLOCK_REALTIME, &rt);
	clock_gettime(CLOCK_BOOTTIME, &bt);
	return ((int64_t)rt.tv_sec - bt.tv_sec) * 1000000000LL + (rt.tv_nsec - bt.tv_nsec);
}

static int64_t mono_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void put_record(uint16_t kind, const void *body, uint32_t body_size)
{
	struct rec_hdr h;
	memset(&h, 0, sizeof(h));
	h.magic = REC_MAGIC;
	h.kind = kind;
	h.size = sizeof(h) + body_size;
	h.pid = getpid();
	struct timespec bt;
	clock_gettime(CLOCK_BOOTTIME, &bt);
	h.ts_ns = (uint64_t)bt.tv_sec * 1000000000ULL + bt.tv_nsec;
	if (fwrite(&h, sizeof(h), 1, stdout) != 1 || fwrite(body, body_size, 1, stdout) != 1)
		write_failed = 1;
}

static int on_sample(void *ctx, void *data, size_t size)
{
	const struct rec_hdr *h = data;
	(void)ctx;
	if (size < sizeof(*h) || h->size != size)
		return 0; /* cannot happen: the kernel side sets size; never forward a torn record */
	if (h->kind < K_MAX)
		emitted[h->kind]++;
	if (fwrite(data, size, 1, stdout) != 1) {
		write_failed = 1;
		return -1;
	}
	pending_bytes += size;
	return 0;
}

static void emit_stats(struct palisade_bpf *skel)
{
	struct stats_body st;
	int ncpu = libbpf_num_possible_cpus();
	uint64_t vals[ncpu > 0 ? ncpu : 1];

	memset(&st, 0, sizeof(st));
	st.realtime_minus_boottime_ns = realtime_minus_boottime();
	for (uint32_t k = 0; k < K_MAX; k++) {
		if (bpf_map__lookup_elem(skel->maps.drops, &k, sizeof(k), vals, sizeof(uint64_t) * ncpu, 0) == 0)
			for (int c = 0; c < ncpu; c++)
				st.drops[k] += vals[c];
		if (bpf_map__lookup_elem(skel->maps.suppressed, &k, sizeof(k), vals, sizeof(uint64_t) * ncpu, 0) == 0)
			for (int c = 0; c < ncpu; c++)
				st.suppressed[k] += vals[c];
		st.emitted[k] = emitted[k];
	}
	put_record(H_STATS, &st, sizeof(st));
}

/* sweep_udp reports the bytes that quiet UDP flows still hold once their interval has passed
 * (the kernel reports a flow's traffic only when a datagram comes), and forgets flows that stayed
 * quiet for four intervals. Workstation tier only; the server tier reports first datagrams. */
static void sweep_udp(struct palisade_bpf *skel, uint64_t interval_ns)
{
	struct udp_key k, next;
	struct udp_flow f;
	struct timespec bt;
	int fd = bpf_map__fd(skel->maps.udp_flows);
	void *prev = NULL;
	int n = 0;

	clock_gettime(CLOCK_BOOTTIME, &bt);
	uint64_t now = (uint64_t)bt.tv_sec * 1000000000ULL + bt.tv_nsec;
	while (n++ < 16384 && bpf_map_get_next_key(fd, prev, &next) == 0) {
		k = next;
		prev = &k;
		if (bpf_map_lookup_elem(fd, &k, &f) != 0 || now - f.last_ns < interval_ns)
			continue;
		if (skel->data->cfg_tier != TIER_SERVER && (f.net.bytes_in || f.net.bytes_out)) {
			struct {
				struct rec_hdr h;
				struct net_body net;
			} r;
			r.h = f.h;
			r.h.kind = K_UDP;
			r.h.size = sizeof(r);
			r.h.ts_ns = now;
			r.net = f.net;
			r.net.outcome = O_TRAFFIC;
			f.net.bytes_in = f.net.bytes_out = 0;
			f.net.packets = 0;
			f.last_ns = now;
			bpf_map_update_elem(fd, &k, &f, BPF_EXIST);
			emitted[K_UDP]++;
			if (fwrite(&r, sizeof(r), 1, stdout) != 1)
				write_failed = 1;
			pending_bytes += sizeof(r);
		} else if (now - f.last_ns >= 4 * interval_ns) {
			bpf_map_delete_elem(fd, &k);
		}
	}
}

static void set_ignored(struct palisade_bpf *skel, uint32_t pid, int on)
{
	uint8_t one = 1;
	if (on)
		bpf_map__update_elem(skel->maps.ignored, &pid, sizeof(pid), &one, sizeof(one), BPF_ANY);
	else
		bpf_map__delete_elem(skel->maps.ignored, &pid, sizeof(pid), 0);
}

/* apply_command applies one control line; unknown lines are reported and ignored. */
static void apply_command(struct palisade_bpf *skel, char *line)
{
	char cmd[16];
	unsigned long arg;
	if (sscanf(line, "%15s %lu", cmd, &arg) != 2) {
		fprintf(stderr, "palisade-sensor: ignoring malformed control line\n");
		return;
	}
	if (strcmp(cmd, "tier") == 0 && (arg == TIER_SERVER || arg == TIER_WORKSTATION)) {
		skel->data->cfg_tier = arg;
	} else if (strcmp(cmd, "ignore") == 0 && arg > 0 && arg < UINT32_MAX) {
		set_ignored(skel, arg, 1);
	} else if (strcmp(cmd, "unignore") == 0 && arg < UINT32_MAX) {
		set_ignored(skel, arg, 0);
	} else if (strcmp(cmd, "sync") == 0) {
		struct ack_body a = { .seq = (uint32_t)arg, .ok = 1 };
		put_record(H_ACK, &a, sizeof(a));
	} else {
		fprintf(stderr, "palisade-sensor: ignoring unknown control command %s\n", cmd);
	}
}

/* read_commands reads what stdin has; returns 0 at end of input. */
static int read_commands(struct palisade_bpf *skel)
{
	static char buf[4096];
	static size_t len;
	ssize_t n = read(STDIN_FILENO, buf + len, sizeof(buf) - 1 - len);
	if (n <= 0)
		return n < 0 && errno == EINTR;
	len += n;
	char *start = buf, *nl;
	while ((nl = memchr(start, '\n', buf + len - start))) {
		*nl = 0;
		apply_command(skel, start);
		start = nl + 1;
	}
	len = buf + len - start;
	memmove(buf, start, len);
	if (len == sizeof(buf) - 1)
		len = 0; /* an overlong line: drop it */
	return 1;
}

static const char *tracefs_root(void)
{
	if (access("/sys/kernel/tracing/events", F_OK) == 0)
		return "/sys/kernel/tracing";
	if (access("/sys/kernel/debug/tracing/events", F_OK) == 0)
		return "/sys/kernel/debug/tracing";
	return NULL;
}

/* Syscalls some architectures lack (arm64 has no open, creat, rename, unlink): skip them. */
static void skip_missing(const char *root, struct bpf_program *prog, const char *event)
{
	char p[256];
	snprintf(p, sizeof(p), "%s/events/syscalls/%s", root, event);
	if (access(p, F_OK) != 0)
		bpf_program__set_autoload(prog, false);
}

/* kernel_btf_id names the running kernel's BTF by its size and a 64-bit FNV-1a hash of its bytes,
 * so that a minimized copy is only ever used with the kernel it was cut from. */
static int kernel_btf_id(char *out, size_t n)
{
	static unsigned char buf[64 * 1024];
	uint64_t h = 0xcbf29ce484222325ULL, size = 0;
	ssize_t r;
	int fd = open("/sys/kernel/btf/vmlinux", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	while ((r = read(fd, buf, sizeof(buf))) > 0) {
		for (ssize_t i = 0; i < r; i++) {
			h ^= buf[i];
			h *= 0x100000001b3ULL;
		}
		size += (uint64_t)r;
	}
	close(fd);
	if (r < 0 || size == 0)
		return -1;
	snprintf(out, n, "%016llx-%llu", (unsigned long long)h, (unsigned long long)size);
	return 0;
}

/* minimized_btf returns the path of the minimized BTF made for the running kernel, or NULL (no
 * such file, or one that others than its owner could have written: then it is not trusted). */
static const char *minimized_btf(void)
{
	static char path[PATH_MAX];
	char exe[PATH_MAX], id[64];
	struct stat st;
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0 || kernel_btf_id(id, sizeof(id)) != 0)
		return NULL;
	exe[n] = 0;
	snprintf(path, sizeof(path), "%s/btf/vmlinux-%s.btf", dirname(exe), id);
	if (stat(path, &st) != 0)
		return NULL;
	if (!S_ISREG(st.st_mode) || (st.st_mode & (S_IWGRP | S_IWOTH)) || st.st_uid != geteuid()) {
		fprintf(stderr, "palisade-sensor: not using %s: it is not a regular file owned by us and "
				"writable by us only\n", path);
		return NULL;
	}
	return path;
}

static void parse_args(int argc, char **argv, uint32_t *rb_mb, uint32_t *tier, uint32_t *udp_s)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--ringbuf-mb") == 0 && i + 1 < argc)
			*rb_mb = strtoul(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--udp-interval-s") == 0 && i + 1 < argc)
			*udp_s = strtoul(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--noisy-per-sec") == 0 && i + 1 < argc)
			noisy_per_sec = strtoul(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--tier") == 0 && i + 1 < argc)
			*tier = strtoul(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--ignore") == 0 && i + 1 < argc)
			++i; /* applied after load */
		else if (strcmp(argv[i], "--btf-id") == 0 && argc == 2) {
			char id[64];
			if (kernel_btf_id(id, sizeof(id)) != 0)
				die(EXIT_NO_BTF, "cannot read /sys/kernel/btf/vmlinux: %s", strerror(errno));
			printf("%s\n", id);
			exit(EXIT_OK);
		} else
			die(EXIT_USAGE, "usage: palisade-sensor [--ringbuf-mb N] [--tier 1|2] [--udp-interval-s N] [--noisy-per-sec N] [--ignore PID]... | --btf-id");
	}
	if (*rb_mb < 1 || *rb_mb > 256 || (*rb_mb & (*rb_mb - 1)))
		die(EXIT_USAGE, "--ringbuf-mb must be a power of two between 1 and 256");
	if (noisy_per_sec < 1 || noisy_per_sec > 1000000)
		die(EXIT_USAGE, "--noisy-per-sec must be between 1 and 1000000");
	if (*udp_s < 1 || *udp_s > 3600)
		die(EXIT_USAGE, "--udp-interval-s must be between 1 and 3600");
	if (*tier != TIER_SERVER && *tier != TIER_WORKSTATION)
		die(EXIT_USAGE, "--tier must be 1 (server) or 2 (workstation)");
}

/* open_and_load opens the BPF object (CO-RE against `btf`, or the kernel's BTF when NULL), sizes
 * the ring buffer, skips the syscalls this architecture lacks and loads the programs. On failure
 * it returns NULL with *err set (negative errno). */
static struct palisade_bpf *open_and_load(const char *root, uint32_t rb_mb, uint32_t tier, uint32_t udp_s, const char *btf,
					  int *err)
{
	LIBBPF_OPTS(bpf_object_open_opts, oo, .btf_custom_path = btf);
	struct palisade_bpf *skel = palisade_bpf__open_opts(&oo);
	if (!skel) {
		*err = errno ? -errno : -EINVAL;
		return NULL;
	}
	bpf_map__set_max_entries(skel->maps.rb, rb_mb << 20);
	skel->data->cfg_tier = tier;
	skel->data->cfg_udp_interval_ns = (uint64_t)udp_s * 1000000000ULL;
	skel->data->cfg_noisy_per_sec = noisy_per_sec;
	skip_missing(root, skel->progs.on_open, "sys_enter_open");
	skip_missing(root, skel->progs.on_open_exit, "sys_exit_open");
	skip_missing(root, skel->progs.on_creat, "sys_enter_creat");
	skip_missing(root, skel->progs.on_creat_exit, "sys_exit_creat");
	skip_missing(root, skel->progs.on_openat2, "sys_enter_openat2");
	skip_missing(root, skel->progs.on_openat2_exit, "sys_exit_openat2");
	skip_missing(root, skel->progs.on_unlink, "sys_enter_unlink");
	skip_missing(root, skel->progs.on_unlink_exit, "sys_exit_unlink");
	skip_missing(root, skel->progs.on_rename, "sys_enter_rename");
	skip_missing(root, skel->progs.on_rename_exit, "sys_exit_rename");
	*err = palisade_bpf__load(skel);
	if (*err) {
		palisade_bpf__destroy(skel);
		return NULL;
	}
	return skel;
}

int main(int argc, char **argv)
{
	uint32_t rb_mb = 8, tier = TIER_WORKSTATION, udp_s = 60;
	struct palisade_bpf *skel;
	int err;

	parse_args(argc, argv, &rb_mb, &tier, &udp_s);
	prctl(PR_SET_PDEATHSIG, SIGTERM); /* never outlive the agent */
	signal(SIGPIPE, SIG_IGN);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	libbpf_set_print(libbpf_print);
	static char outbuf[1 << 20];
	setvbuf(stdout, outbuf, _IOFBF, sizeof(outbuf));

	if (access("/sys/kernel/btf/vmlinux", R_OK) != 0)
		die(EXIT_NO_BTF, "kernel BTF (/sys/kernel/btf/vmlinux) is missing: CO-RE programs cannot load");
	const char *root = tracefs_root();
	if (!root && mount("nodev", "/sys/kernel/tracing", "tracefs", 0, NULL) == 0)
		root = tracefs_root();
	if (!root)
		die(errno == EPERM ? EXIT_PERM : EXIT_TRACEFS, "tracefs is not mounted and cannot be mounted: %s",
		    strerror(errno));

	const char *btf = minimized_btf();
	skel = open_and_load(root, rb_mb, tier, udp_s, btf, &err);
	if (err && btf) {
		fprintf(stderr, "palisade-sensor: loading with %s failed (%s); retrying with the kernel's "
				"whole BTF\n", btf, strerror(-err));
		skel = open_and_load(root, rb_mb, tier, udp_s, NULL, &err);
	}
	if (err) {
		if (err == -EPERM)
			die(EXIT_PERM, "no permission to load BPF programs (needs root or CAP_BPF+CAP_PERFMON): %s",
			    strerror(-err));
		die(EXIT_LOAD, "the kernel refused the BPF programs (verifier or missing kernel feature): %s",
		    strerror(-err));
	}
	set_ignored(skel, getpid(), 1);
	for (int i = 1; i + 1 < argc; i++)
		if (strcmp(argv[i], "--ignore") == 0)
			set_ignored(skel, strtoul(argv[i + 1], NULL, 10), 1);
	err = palisade_bpf__attach(skel);
	if (err)
		die(EXIT_ATTACH, "cannot attach the BPF programs to their tracepoints: %s", strerror(-err));

	/* The priority ring (exec, privilege, injection) first: each poll drains it before the other. */
	struct ring_buffer *rb = ring_buffer__new(bpf_map__fd(skel->maps.rb_prio), on_sample, NULL, NULL);
	if (!rb || ring_buffer__add(rb, bpf_map__fd(skel->maps.rb), on_sample, NULL) != 0)
		die(EXIT_LOAD, "cannot map the ring buffers: %s", strerror(errno));

	struct hello_body hello = { .version = REC_VERSION, .helper_pid = getpid(),
				    .realtime_minus_boottime_ns = realtime_minus_boottime(),
				    .ringbuf_bytes = rb_mb << 20 };
	put_record(H_HELLO, &hello, sizeof(hello));
	fflush(stdout);

	struct pollfd fds[2] = { { .fd = ring_buffer__epoll_fd(rb), .events = POLLIN },
				 { .fd = STDIN_FILENO, .events = POLLIN } };
	int64_t last_stats = mono_ms(), last_flush = mono_ms();
	int stdin_open = 1;
	while (!stopping && !write_failed && stdin_open) {
		int n = poll(fds, 2, pending_bytes ? FLUSH_MS : 250);
		if (n < 0 && errno != EINTR)
			die(EXIT_USAGE, "poll failed: %s", strerror(errno));
		int flush_now = 0;
		if (n > 0 && (fds[1].revents & (POLLIN | POLLHUP | POLLERR))) {
			stdin_open = read_commands(skel);
			flush_now = 1; /* acks go out at once */
		}
		int got = ring_buffer__consume(rb);
		int64_t now = mono_ms();
		if (now - last_stats >= 1000) {
			sweep_udp(skel, (uint64_t)udp_s * 1000000000ULL);
			emit_stats(skel);
			last_stats = now;
			flush_now = 1;
		}
		if (flush_now || pending_bytes >= FLUSH_BYTES || (pending_bytes && now - last_flush >= FLUSH_MS)) {
			if (fflush(stdout) != 0)
				write_failed = 1;
			pending_bytes = 0;
			last_flush = now;
		}
		if (got > 0)
			usleep(BATCH_US);
	}
	fflush(stdout);
	ring_buffer__free(rb);
	palisade_bpf__destroy(skel);
	fprintf(stderr, "palisade-sensor: stopped (%s)\n",
		write_failed ? "stdout closed" : stdin_open ? "signal" : "stdin closed");
	return EXIT_OK;
}
