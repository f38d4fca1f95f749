// SPDX-License-Identifier: GPL-2.0
/* bpf_common.h: maps, the record scratch buffer, header filling, submission with drop
 * counting, the bounded dentry walk and fd-table lookups shared by every program.
 * Included once, by palisade.bpf.c: the programs form one BPF object and share its maps. */
#ifndef PALISADE_BPF_COMMON_H
#define PALISADE_BPF_COMMON_H

#define AT_FDCWD -100
#define O_WRONLY 01
#define O_RDWR 02
#define O_CREAT 0100
#define O_TRUNC 01000
#define FMODE_CREATED 0x100000
#define S_IFMT 00170000
#define S_IFREG 0100000
#define S_IFSOCK 0140000
#define AF_INET 2
#define AF_INET6 10
#define IPPROTO_TCP 6
#define IPPROTO_UDP 17
#define TCP_ESTABLISHED 1
#define TCP_SYN_SENT 2
#define TCP_CLOSE 7
#define TCP_LISTEN 10
#define ECONNREFUSED 111
#define EINPROGRESS 115
#define EALREADY 114
#define EISCONN 106
#define EINTR 4
#define ERESTARTSYS 512

/* Telemetry tier, set by the helper at run time (records.h TIER_*). */
__u32 cfg_tier = TIER_WORKSTATION;
/* A UDP flow reports its traffic at most once per this many ns (set by the helper). */
__u64 cfg_udp_interval_ns = 60ULL * 1000000000ULL;
/* Noisy (file and network) records per process and second; more are suppressed and counted. */
__u32 cfg_noisy_per_sec = 2000;

struct scratch {
	struct rec_hdr h;
	union { /* REC_BODY_SIZE bytes: data always starts at REC_DATA_OFFSET */
		char body_area[REC_BODY_SIZE];
		struct exec_body exec;
		struct exit_body exit;
		struct net_body net;
		struct file_body file;
		struct inject_body inject;
		struct setid_body setid;
	};
	char data[DATA_SIZE];
	/* Walk cursor. Kept in map memory on purpose: the verifier does not track values there, so
	 * the path walk verifies once instead of once per possible offset. */
	__u32 pos;
	__u32 pos_start;
};

_Static_assert(__builtin_offsetof(struct scratch, data) == REC_DATA_OFFSET, "record layout");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scratch);
} scratch_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 << 20); /* resized by the helper before load */
} rb SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, PRIO_RINGBUF_BYTES);
} rb_prio SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, K_MAX);
	__type(key, __u32);
	__type(value, __u64);
} drops SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, K_MAX);
	__type(key, __u32);
	__type(value, __u64);
} suppressed SEC(".maps");

/* The per-process limit of noisy records: a one-second window and its count. */
struct noisy_window {
	__u64 start_ns;
	__u32 count;
	__u32 _pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, __u32);
	__type(value, struct noisy_window);
} noisy SEC(".maps");

/* Thread-group ids whose activity is dropped (the agent, the helper, and their children). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, __u8);
} ignored SEC(".maps");

/* A syscall's arguments, kept from its entry to its exit, per thread. */
struct stash {
	__u32 kind;
	__s32 dfd1;
	__s32 dfd2;
	__u32 flags;
	__u64 p1;
	__u64 p2;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct stash);
} stashes SEC(".maps");

/* stash.flags for K_CONNECT: the socket reached SYN_SENT during the syscall (the state
 * tracepoint reports its outcome; the syscall exit must not report it again). */
#define STASH_SYN_SENT 1
/* stash.flags for K_UDP: which syscall it is, and the datagram's direction. */
#define STASH_UDP_MSG 1   /* p1 is a struct msghdr */
#define STASH_UDP_MMSG 2  /* p1 is a struct mmsghdr vector */
#define STASH_UDP_IN 4    /* a receive */

/* The process that owns a TCP socket, from connect/accept until close. */
struct owner {
	struct rec_hdr h;
	struct net_body net; /* the tuple as it was when established: ports are gone at close */
	__u8 established;
	__u8 direction;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct owner);
} owners SEC(".maps");

/* UDP flows (struct udp_key / udp_flow in records.h: the helper sweeps them). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, struct udp_key);
	__type(value, struct udp_flow);
} udp_flows SEC(".maps");

static __always_inline struct scratch *get_scratch(void)
{
	__u32 zero = 0;
	return bpf_map_lookup_elem(&scratch_map, &zero);
}

static __always_inline int is_ignored(__u32 tgid)
{
	return bpf_map_lookup_elem(&ignored, &tgid) != NULL;
}

static __always_inline void fill_hdr(struct rec_hdr *h, __u16 kind)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	__u64 pt = bpf_get_current_pid_tgid();
	__u64 ug = bpf_get_current_uid_gid();

	h->magic = REC_MAGIC;
	h->kind = kind;
	h->size = 0;
	h->ts_ns = bpf_ktime_get_boot_ns();
	h->start_ns = BPF_CORE_READ(t, group_leader, start_boottime);
	h->pid = pt >> 32;
	h->tid = (__u32)pt;
	h->ppid = BPF_CORE_READ(t, real_parent, tgid);
	h->uid = (__u32)ug;
	h->gid = ug >> 32;
	h->flags = 0;
	bpf_get_current_comm(h->comm, sizeof(h->comm));
}

/* over_noisy_limit counts one noisy record of process tgid and says whether it is over the limit. */
static __always_inline int over_noisy_limit(__u32 tgid)
{
	__u64 now = bpf_ktime_get_boot_ns();
	struct noisy_window *w = bpf_map_lookup_elem(&noisy, &tgid);

	if (!w) {
		struct noisy_window fresh = { .start_ns = now, .count = 1 };
		bpf_map_update_elem(&noisy, &tgid, &fresh, BPF_ANY);
		return 0;
	}
	if (now - w->start_ns >= 1000000000ULL) {
		w->start_ns = now;
		w->count = 1;
		return 0;
	}
	if (w->count >= cfg_noisy_per_sec)
		return 1;
	__sync_fetch_and_add(&w->count, 1);
	return 0;
}

static __always_inline void submit(struct scratch *s, __u32 data_len)
{
	__u32 kind = s->h.kind;
	__u64 size;

	/* Every record's data fits in DATA_MASK bytes (see records.h); the mask proves it to the
	 * verifier, and the barrier stops the compiler from applying it to a copy. */
	data_len &= DATA_MASK;
	size = REC_DATA_OFFSET + data_len;
	asm volatile("%[size] &= 0x7fff" : [size] "+r"(size));
	if (size > sizeof(*s) - 8)
		return;
	s->h.size = size;
	if (IS_NOISY_KIND(kind) && over_noisy_limit(s->h.pid)) {
		__u64 *n = bpf_map_lookup_elem(&suppressed, &kind);
		if (n)
			*n += 1;
		return;
	}
	long err = IS_PRIO_KIND(kind) ? bpf_ringbuf_output(&rb_prio, s, size, 0) : bpf_ringbuf_output(&rb, s, size, 0);
	if (err != 0) {
		__u64 *d = bpf_map_lookup_elem(&drops, &kind);
		if (d)
			*d += 1;
	}
}

struct walk {
	struct dentry *d;
	struct mount *m;
	__u32 done;
};

/* walk_step moves one dentry up; bpf_loop keeps the verifier's work independent of the depth. */
static long walk_step(__u64 i, void *arg)
{
	struct walk *w = arg;
	struct scratch *s = get_scratch();
	struct dentry *d = w->d;
	struct mount *m = w->m;

	if (!s)
		return 1;
	struct dentry *mnt_root = BPF_CORE_READ(m, mnt.mnt_root);
	struct dentry *parent = BPF_CORE_READ(d, d_parent);
	if (d == mnt_root || d == parent) {
		struct mount *mp = BPF_CORE_READ(m, mnt_parent);
		if (mp == m || !mp) {
			w->done = 1;
			return 1;
		}
		w->d = BPF_CORE_READ(m, mnt_mountpoint);
		w->m = mp;
		return 0;
	}
	__u32 pos = s->pos;
	if (pos - s->pos_start >= PATH_BYTES)
		return 1;
	const unsigned char *name = BPF_CORE_READ(d, d_name.name);
	long n = bpf_probe_read_kernel_str(&s->data[pos & DATA_MASK], NAME_READ, name);
	if (n > 0)
		s->pos = pos + n;
	w->d = parent;
	return 0;
}

/* put_path writes the components of `p` from leaf to root, each NUL-terminated, at data[off]
 * and returns the new offset. It crosses mount points up to the root of the mount namespace;
 * a path deeper than PATH_DEPTH or longer than PATH_BYTES sets trunc_flag. */
static __always_inline __u32 put_path(struct scratch *s, __u32 off, struct path *p, __u32 trunc_flag)
{
	struct vfsmount *vm = BPF_CORE_READ(p, mnt);
	struct walk w = {
		.d = BPF_CORE_READ(p, dentry),
		.m = (struct mount *)((void *)vm - bpf_core_field_offset(struct mount, mnt)),
		.done = 0,
	};

	s->pos = off;
	s->pos_start = off;
	bpf_loop(PATH_DEPTH, walk_step, &w, 0);
	if (!w.done)
		s->h.flags |= trunc_flag;
	return s->pos;
}

/* put_user_str copies a NUL-terminated string from user memory; returns bytes written. */
static __always_inline __u32 put_user_str(struct scratch *s, __u32 off, const char *p)
{
	long n = bpf_probe_read_user_str(&s->data[off & DATA_MASK], RAW_PATH_MAX, p);
	return n > 0 ? (__u32)n : 0;
}

static __always_inline struct file *fd_file(struct task_struct *t, int fd)
{
	struct fdtable *fdt = BPF_CORE_READ(t, files, fdt);
	struct file **arr = BPF_CORE_READ(fdt, fd);
	unsigned int max = BPF_CORE_READ(fdt, max_fds);
	struct file *f = NULL;

	if (fd < 0 || (unsigned int)fd >= max)
		return NULL;
	bpf_probe_read_kernel(&f, sizeof(f), &arr[fd]);
	return f;
}

/* put_dir writes the directory a relative path is resolved against: the cwd for AT_FDCWD, else
 * the directory open on dfd. */
static __always_inline __u32 put_dir(struct scratch *s, __u32 off, int dfd, __u32 trunc_flag)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	struct path p;

	if (dfd == AT_FDCWD) {
		p = BPF_CORE_READ(t, fs, pwd);
	} else {
		struct file *f = fd_file(t, dfd);
		if (!f)
			return off;
		p = BPF_CORE_READ(f, f_path);
	}
	return put_path(s, off, &p, trunc_flag);
}

#endif
