// SPDX-License-Identifier: GPL-2.0
/* palisade.bpf.c: Palisade's kernel sensor. Classic tracepoints, raw tracepoint-style tp_btf for
 * fork, CO-RE throughout so that one build runs on many kernels. Each program builds a record in
 * a per-CPU scratch buffer and copies only the used bytes into the ring buffer; a failed copy is
 * counted per kind in `drops`. See records.h for the record layouts and README.md for limits. */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "records.h"

char LICENSE[] SEC("license") = "GPL";

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

/* Telemetry tier, set by the helper at run time (records.h TIER_*). */
__u32 cfg_tier = TIER_WORKSTATION;

struct scratch {
	struct rec_hdr h;
	union { /* REC_BODY_SIZE bytes: data always starts at REC_DATA_OFFSET */
		char body_area[REC_BODY_SIZE];
		struct exec_body exec;
		struct exit_body exit;
		struct net_body net;
		struct file_body file;
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
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, K_MAX);
	__type(key, __u32);
	__type(value, __u64);
} drops SEC(".maps");

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
	if (bpf_ringbuf_output(&rb, s, size, 0) != 0) {
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

/* ---------------------------------------------------------------- process */

SEC("tp_btf/sched_process_fork")
int BPF_PROG(on_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 ptgid = BPF_CORE_READ(parent, tgid);
	__u32 ctgid = BPF_CORE_READ(child, tgid);
	__u8 one = 1;

	if (ptgid != ctgid && is_ignored(ptgid))
		bpf_map_update_elem(&ignored, &ctgid, &one, BPF_ANY);
	return 0;
}

SEC("tracepoint/sched/sched_process_exec")
int on_exec(struct trace_event_raw_sched_process_exec *ctx)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	struct scratch *s;
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;

	if (is_ignored(tgid))
		return 0;
	s = get_scratch();
	if (!s)
		return 0;
	fill_hdr(&s->h, K_EXEC);
	struct exec_body *b = &s->exec;
	b->euid = BPF_CORE_READ(t, cred, euid.val);
	b->egid = BPF_CORE_READ(t, cred, egid.val);
	b->auid = (__u32)-1;
	b->sessionid = (__u32)-1;
	if (bpf_core_field_exists(t->loginuid)) {
		b->auid = BPF_CORE_READ(t, loginuid.val);
		b->sessionid = BPF_CORE_READ(t, sessionid);
	}
	b->cgroup_id = bpf_get_current_cgroup_id();
	b->tty[0] = 0;
	struct tty_struct *tty = BPF_CORE_READ(t, signal, tty);
	if (tty)
		bpf_probe_read_kernel_str(b->tty, sizeof(b->tty), BPF_CORE_READ(tty, name));

	struct mm_struct *mm = BPF_CORE_READ(t, mm);
	unsigned long as = BPF_CORE_READ(mm, arg_start);
	unsigned long ae = BPF_CORE_READ(mm, arg_end);
	__u64 len = ae > as ? ae - as : 0;
	if (len > ARGV_MAX) {
		len = ARGV_MAX;
		s->h.flags |= F_ARGV_TRUNC;
	}
	if (bpf_probe_read_user(s->data, len, (void *)as) != 0)
		len = 0;
	__u32 off = len;
	b->argv_len = len;

	struct path exe = BPF_CORE_READ(mm, exe_file, f_path);
	__u32 end = put_path(s, off, &exe, F_PATH1_TRUNC);
	b->exe_len = end - off;
	off = end;
	struct path cwd = BPF_CORE_READ(t, fs, pwd);
	end = put_path(s, off, &cwd, F_PATH2_TRUNC);
	b->cwd_len = end - off;
	submit(s, end);
	return 0;
}

SEC("tracepoint/sched/sched_process_exit")
int on_proc_exit(void *ctx)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	__u64 pt = bpf_get_current_pid_tgid();
	__u32 tgid = pt >> 32;
	struct scratch *s;

	if ((__u32)pt != tgid)
		return 0; /* only thread-group leaders */
	if (is_ignored(tgid)) {
		bpf_map_delete_elem(&ignored, &tgid);
		return 0;
	}
	if (cfg_tier == TIER_SERVER)
		return 0;
	s = get_scratch();
	if (!s)
		return 0;
	fill_hdr(&s->h, K_EXIT);
	s->exit.exit_code = BPF_CORE_READ(t, exit_code);
	s->exit._pad = 0;
	submit(s, 0);
	return 0;
}

/* ---------------------------------------------------------------- network */

static __always_inline void sock_tuple(struct net_body *n, struct sock *sk)
{
	__u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);

	n->family = family;
	n->protocol = IPPROTO_TCP;
	n->lport = BPF_CORE_READ(sk, __sk_common.skc_num);
	n->rport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	__builtin_memset(n->laddr, 0, sizeof(n->laddr));
	__builtin_memset(n->raddr, 0, sizeof(n->raddr));
	if (family == AF_INET) {
		BPF_CORE_READ_INTO((__u32 *)n->laddr, sk, __sk_common.skc_rcv_saddr);
		BPF_CORE_READ_INTO((__u32 *)n->raddr, sk, __sk_common.skc_daddr);
	} else {
		bpf_core_read(n->laddr, 16, &sk->__sk_common.skc_v6_rcv_saddr);
		bpf_core_read(n->raddr, 16, &sk->__sk_common.skc_v6_daddr);
	}
}

static __always_inline void clear_net(struct net_body *n)
{
	n->bytes_in = 0;
	n->bytes_out = 0;
	n->direction = 0;
	n->_pad = 0;
	n->payload_len = 0;
	n->_pad2 = 0;
}

/* Outbound: the connecting process moves the socket to SYN_SENT (we remember it as the owner);
 * ESTABLISHED reports the connect; CLOSE reports the disconnect of a socket we own. */
SEC("tracepoint/sock/inet_sock_set_state")
int on_sock_state(struct trace_event_raw_inet_sock_set_state *ctx)
{
	__u64 key = (__u64)ctx->skaddr;
	int newstate = ctx->newstate;
	int oldstate = ctx->oldstate;
	struct owner *o;
	struct scratch *s;

	if (ctx->protocol != IPPROTO_TCP)
		return 0;
	if (newstate == TCP_SYN_SENT) {
		__u32 tgid = bpf_get_current_pid_tgid() >> 32;
		struct owner fresh = {};
		if (is_ignored(tgid))
			return 0;
		fill_hdr(&fresh.h, K_CONNECT);
		fresh.direction = 2;
		bpf_map_update_elem(&owners, &key, &fresh, BPF_ANY);
		return 0;
	}
	if (newstate == TCP_ESTABLISHED && oldstate == TCP_SYN_SENT) {
		o = bpf_map_lookup_elem(&owners, &key);
		if (!o)
			return 0;
		s = get_scratch();
		if (!s)
			return 0;
		s->h = o->h;
		s->h.kind = K_CONNECT;
		s->h.ts_ns = bpf_ktime_get_boot_ns();
		sock_tuple(&s->net, (struct sock *)ctx->skaddr);
		clear_net(&s->net);
		s->net.direction = 2;
		submit(s, 0);
		if (cfg_tier == TIER_SERVER)
			bpf_map_delete_elem(&owners, &key);
		else {
			o->net = s->net;
			o->established = 1;
		}
		return 0;
	}
	if (newstate == TCP_CLOSE) {
		o = bpf_map_lookup_elem(&owners, &key);
		if (!o)
			return 0;
		if (o->established && cfg_tier != TIER_SERVER) {
			s = get_scratch();
			if (s) {
				struct tcp_sock *tp = (struct tcp_sock *)ctx->skaddr;
				s->h = o->h;
				s->h.kind = K_CLOSE;
				s->h.ts_ns = bpf_ktime_get_boot_ns();
				s->net = o->net;
				s->net.bytes_in = BPF_CORE_READ(tp, bytes_received);
				s->net.bytes_out = BPF_CORE_READ(tp, bytes_sent);
				submit(s, 0);
			}
		}
		bpf_map_delete_elem(&owners, &key);
	}
	return 0;
}

static __always_inline struct sock *fd_sock(struct task_struct *t, int fd)
{
	struct file *f = fd_file(t, fd);
	if (!f)
		return NULL;
	__u16 mode = BPF_CORE_READ(f, f_inode, i_mode);
	if ((mode & S_IFMT) != S_IFSOCK)
		return NULL;
	struct socket *so = BPF_CORE_READ(f, private_data);
	return so ? BPF_CORE_READ(so, sk) : NULL;
}

static __always_inline int on_accept_exit(struct trace_event_raw_sys_exit *ctx)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	long fd = ctx->ret;
	struct scratch *s;
	struct sock *sk;

	if (fd < 0 || is_ignored(tgid))
		return 0;
	sk = fd_sock(t, fd);
	if (!sk)
		return 0;
	__u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);
	if (family != AF_INET && family != AF_INET6)
		return 0;
	if (BPF_CORE_READ_BITFIELD_PROBED(sk, sk_protocol) != IPPROTO_TCP)
		return 0;
	s = get_scratch();
	if (!s)
		return 0;
	fill_hdr(&s->h, K_ACCEPT);
	sock_tuple(&s->net, sk);
	clear_net(&s->net);
	s->net.direction = 1;
	if (cfg_tier != TIER_SERVER) {
		struct owner o = {};
		__u64 key = (__u64)sk;
		o.h = s->h;
		o.net = s->net;
		o.established = 1;
		o.direction = 1;
		bpf_map_update_elem(&owners, &key, &o, BPF_ANY);
	}
	submit(s, 0);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_accept")
int on_accept(struct trace_event_raw_sys_exit *ctx)
{
	return on_accept_exit(ctx);
}

SEC("tracepoint/syscalls/sys_exit_accept4")
int on_accept4(struct trace_event_raw_sys_exit *ctx)
{
	return on_accept_exit(ctx);
}

struct sockaddr_in_u {
	__u16 family;
	__u16 port;
	__u32 addr;
};

struct sockaddr_in6_u {
	__u16 family;
	__u16 port;
	__u32 flowinfo;
	__u8 addr[16];
};

/* dns_send reports a datagram sent on a UDP socket to port 53: `name` is the destination given
 * to the syscall (NULL for a connected socket), `buf` the payload. */
static __noinline int dns_send(int fd, void *name, void *buf, __u64 len)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct scratch *s;
	struct sock *sk;

	if (is_ignored(tgid))
		return 0;
	sk = fd_sock(t, fd);
	if (!sk)
		return 0;
	__u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);
	if (family != AF_INET && family != AF_INET6)
		return 0;
	if (BPF_CORE_READ_BITFIELD_PROBED(sk, sk_protocol) != IPPROTO_UDP)
		return 0;
	s = get_scratch();
	if (!s)
		return 0;
	fill_hdr(&s->h, K_DNS);
	sock_tuple(&s->net, sk);
	clear_net(&s->net);
	s->net.protocol = IPPROTO_UDP;
	s->net.direction = 2;
	if (name) {
		struct sockaddr_in6_u sa = {};
		if (bpf_probe_read_user(&sa, sizeof(sa), name) != 0)
			return 0;
		if (sa.family == AF_INET) {
			struct sockaddr_in_u *sin = (struct sockaddr_in_u *)&sa;
			__builtin_memset(s->net.raddr, 0, sizeof(s->net.raddr));
			__builtin_memcpy(s->net.raddr, &sin->addr, 4);
			s->net.family = AF_INET;
		} else if (sa.family == AF_INET6) {
			__builtin_memcpy(s->net.raddr, sa.addr, 16);
			s->net.family = AF_INET6;
		} else {
			return 0;
		}
		s->net.rport = bpf_ntohs(sa.port);
	}
	if (s->net.rport != 53)
		return 0;
	if (len > DNS_PAYLOAD)
		len = DNS_PAYLOAD;
	if (bpf_probe_read_user(s->data, len, buf) != 0)
		return 0;
	s->net.payload_len = len;
	submit(s, len);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_sendto")
int on_sendto(struct trace_event_raw_sys_enter *ctx)
{
	return dns_send(ctx->args[0], (void *)ctx->args[4], (void *)ctx->args[1], ctx->args[2]);
}

struct msghdr_u {
	void *name;
	int namelen;
	void *iov;
	__u64 iovlen;
};

struct iovec_u {
	void *base;
	__u64 len;
};

static __always_inline int dns_msg(int fd, void *umsg)
{
	struct msghdr_u m;
	struct iovec_u iov;

	if (bpf_probe_read_user(&m, sizeof(m), umsg) != 0 || m.iovlen < 1)
		return 0;
	if (bpf_probe_read_user(&iov, sizeof(iov), m.iov) != 0)
		return 0;
	return dns_send(fd, m.name, iov.base, iov.len);
}

SEC("tracepoint/syscalls/sys_enter_sendmsg")
int on_sendmsg(struct trace_event_raw_sys_enter *ctx)
{
	return dns_msg(ctx->args[0], (void *)ctx->args[1]);
}

/* sendmmsg: glibc sends the A and AAAA questions together; report the first two messages. */
SEC("tracepoint/syscalls/sys_enter_sendmmsg")
int on_sendmmsg(struct trace_event_raw_sys_enter *ctx)
{
	int fd = ctx->args[0];
	char *vec = (char *)ctx->args[1];
	__u32 vlen = ctx->args[2];

	if (vlen > 0)
		dns_msg(fd, vec);
	if (vlen > 1)
		dns_msg(fd, vec + 64); /* sizeof(struct mmsghdr) on 64-bit */
	return 0;
}

/* ---------------------------------------------------------------- files */

static __always_inline int stash_args(__u32 kind, int dfd1, const char *p1, int dfd2, const char *p2,
				      __u32 flags)
{
	__u64 pt = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)pt;
	struct stash st = {};

	if (is_ignored(pt >> 32))
		return 0;
	st.kind = kind;
	st.dfd1 = dfd1;
	st.dfd2 = dfd2;
	st.flags = flags;
	st.p1 = (__u64)p1;
	st.p2 = (__u64)p2;
	bpf_map_update_elem(&stashes, &tid, &st, BPF_ANY);
	return 0;
}

static __always_inline int stash_open(int dfd, const char *p, __u32 flags)
{
	if (!(flags & (O_WRONLY | O_RDWR | O_CREAT | O_TRUNC)))
		return 0;
	return stash_args(K_OPEN, dfd, p, 0, NULL, flags);
}

SEC("tracepoint/syscalls/sys_enter_openat")
int on_openat(struct trace_event_raw_sys_enter *ctx)
{
	return stash_open(ctx->args[0], (const char *)ctx->args[1], ctx->args[2]);
}

SEC("tracepoint/syscalls/sys_enter_open")
int on_open(struct trace_event_raw_sys_enter *ctx)
{
	return stash_open(AT_FDCWD, (const char *)ctx->args[0], ctx->args[1]);
}

SEC("tracepoint/syscalls/sys_enter_creat")
int on_creat(struct trace_event_raw_sys_enter *ctx)
{
	return stash_open(AT_FDCWD, (const char *)ctx->args[0], O_CREAT | O_WRONLY | O_TRUNC);
}

SEC("tracepoint/syscalls/sys_enter_openat2")
int on_openat2(struct trace_event_raw_sys_enter *ctx)
{
	__u64 flags = 0;
	bpf_probe_read_user(&flags, sizeof(flags), (void *)ctx->args[2]);
	return stash_open(ctx->args[0], (const char *)ctx->args[1], (__u32)flags);
}

SEC("tracepoint/syscalls/sys_enter_unlink")
int on_unlink(struct trace_event_raw_sys_enter *ctx)
{
	return stash_args(K_UNLINK, AT_FDCWD, (const char *)ctx->args[0], 0, NULL, 0);
}

SEC("tracepoint/syscalls/sys_enter_unlinkat")
int on_unlinkat(struct trace_event_raw_sys_enter *ctx)
{
	return stash_args(K_UNLINK, ctx->args[0], (const char *)ctx->args[1], 0, NULL, ctx->args[2]);
}

SEC("tracepoint/syscalls/sys_enter_rename")
int on_rename(struct trace_event_raw_sys_enter *ctx)
{
	return stash_args(K_RENAME, AT_FDCWD, (const char *)ctx->args[0], AT_FDCWD, (const char *)ctx->args[1],
			  0);
}

SEC("tracepoint/syscalls/sys_enter_renameat")
int on_renameat(struct trace_event_raw_sys_enter *ctx)
{
	return stash_args(K_RENAME, ctx->args[0], (const char *)ctx->args[1], ctx->args[2],
			  (const char *)ctx->args[3], 0);
}

SEC("tracepoint/syscalls/sys_enter_renameat2")
int on_renameat2(struct trace_event_raw_sys_enter *ctx)
{
	return stash_args(K_RENAME, ctx->args[0], (const char *)ctx->args[1], ctx->args[2],
			  (const char *)ctx->args[3], ctx->args[4]);
}

/* file_exit turns a stashed file syscall that succeeded into a record. */
static __noinline int file_exit(long ret)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct stash *st = bpf_map_lookup_elem(&stashes, &tid);
	struct stash a;
	struct scratch *s;

	if (!st)
		return 0;
	a = *st;
	bpf_map_delete_elem(&stashes, &tid);
	if (ret < 0)
		return 0;
	s = get_scratch();
	if (!s)
		return 0;
	fill_hdr(&s->h, a.kind);
	struct file_body *b = &s->file;
	__builtin_memset(b, 0, sizeof(*b));
	b->open_flags = a.flags;
	__u32 off = 0;

	if (a.kind == K_OPEN) {
		struct task_struct *t = (struct task_struct *)bpf_get_current_task();
		struct file *f = fd_file(t, ret);
		if (!f)
			return 0;
		__u16 mode = BPF_CORE_READ(f, f_inode, i_mode);
		if ((mode & S_IFMT) != S_IFREG)
			return 0; /* devices, pipes, sockets: not file modifications */
		if (BPF_CORE_READ(f, f_mode) & FMODE_CREATED)
			s->h.flags |= F_CREATED;
		struct path p = BPF_CORE_READ(f, f_path);
		off = put_path(s, 0, &p, F_PATH1_TRUNC);
		b->d1_len = off;
		submit(s, off);
		return 0;
	}

	__u32 n = put_user_str(s, off, (const char *)a.p1);
	b->n1_len = n;
	off += n;
	if (s->data[0] == '/') {
		s->h.flags |= F_ABS1;
	} else {
		__u32 end = put_dir(s, off, a.dfd1, F_PATH1_TRUNC);
		b->d1_len = end - off;
		off = end;
	}
	if (a.kind == K_RENAME) {
		__u32 start2 = off;
		n = put_user_str(s, off, (const char *)a.p2);
		b->n2_len = n;
		off += n;
		if (s->data[start2 & DATA_MASK] == '/') {
			s->h.flags |= F_ABS2;
		} else {
			__u32 end = put_dir(s, off, a.dfd2, F_PATH2_TRUNC);
			b->d2_len = end - off;
			off = end;
		}
	}
	submit(s, off);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_openat")
int on_openat_exit(struct trace_event_raw_sys_exit *ctx) { return file_exit(ctx->ret); }

SEC("tracepoint/syscalls/sys_exit_open")
int on_open_exit(struct trace_event_raw_sys_exit *ctx) { return file_exit(ctx->ret); }

SEC("tracepoint/syscalls/sys_exit_creat")
int on_creat_exit(struct trace_event_raw_sys_exit *ctx) { return file_exit(ctx->ret); }

SEC("tracepoint/syscalls/sys_exit_openat2")
int on_openat2_exit(struct trace_event_raw_sys_exit *ctx) { return file_exit(ctx->ret); }

SEC("tracepoint/syscalls/sys_exit_unlink")
int on_unlink_exit(struct trace_event_raw_sys_exit *ctx) { return file_exit(ctx->ret); }

SEC("tracepoint/syscalls/sys_exit_unlinkat")
int on_unlinkat_exit(struct trace_event_raw_sys_exit *ctx) { return file_exit(ctx->ret); }

SEC("tracepoint/syscalls/sys_exit_rename")
int on_rename_exit(struct trace_event_raw_sys_exit *ctx) { return file_exit(ctx->ret); }

SEC("tracepoint/syscalls/sys_exit_renameat")
int on_renameat_exit(struct trace_event_raw_sys_exit *ctx) { return file_exit(ctx->ret); }

SEC("tracepoint/syscalls/sys_exit_renameat2")
int on_renameat2_exit(struct trace_event_raw_sys_exit *ctx) { return file_exit(ctx->ret); }
