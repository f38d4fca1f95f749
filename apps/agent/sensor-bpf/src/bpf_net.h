// SPDX-License-Identifier: GPL-2.0
/* bpf_net.h: network programs: TCP connect/accept/close with their owner, DNS queries.
 * Included once, by palisade.bpf.c: the programs form one BPF object and share its maps. */
#ifndef PALISADE_BPF_NET_H
#define PALISADE_BPF_NET_H

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
	n->outcome = O_OPEN;
	n->payload_len = 0;
	n->err = 0;
	n->packets = 0;
}

/* ctx_tuple takes the tuple from the state tracepoint itself: at CLOSE the socket may already
 * have given its port back. */
static __always_inline void ctx_tuple(struct net_body *n, struct trace_event_raw_inet_sock_set_state *ctx)
{
	n->family = ctx->family;
	n->protocol = IPPROTO_TCP;
	n->lport = ctx->sport;
	n->rport = ctx->dport;
	__builtin_memset(n->laddr, 0, sizeof(n->laddr));
	__builtin_memset(n->raddr, 0, sizeof(n->raddr));
	/* Read through a helper: the verifier refuses ctx accesses at computed offsets. */
	if (ctx->family == AF_INET) {
		bpf_probe_read_kernel(n->laddr, 4, ctx->saddr);
		bpf_probe_read_kernel(n->raddr, 4, ctx->daddr);
	} else {
		bpf_probe_read_kernel(n->laddr, 16, ctx->saddr_v6);
		bpf_probe_read_kernel(n->raddr, 16, ctx->daddr_v6);
	}
}

/* Outbound: the connecting process moves the socket to SYN_SENT (we remember it as the owner);
 * ESTABLISHED reports the connect; CLOSE reports the disconnect of a socket we own, or, for one
 * that never got established, the failed attempt: refused (the peer reset it) or failed with the
 * socket's error (timeout, unreachable; 0 when the process closed it first). */
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
		__u64 pt = bpf_get_current_pid_tgid();
		__u32 tid = (__u32)pt;
		struct owner fresh = {};
		if (is_ignored(pt >> 32))
			return 0;
		fill_hdr(&fresh.h, K_CONNECT);
		fresh.direction = 2;
		bpf_map_update_elem(&owners, &key, &fresh, BPF_ANY);
		struct stash *st = bpf_map_lookup_elem(&stashes, &tid);
		if (st && st->kind == K_CONNECT)
			st->flags |= STASH_SYN_SENT;
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
		s = get_scratch();
		if (s && !o->established && oldstate == TCP_SYN_SENT) {
			int err = BPF_CORE_READ((struct sock *)ctx->skaddr, sk_err);
			s->h = o->h;
			s->h.kind = K_CONNECT;
			s->h.ts_ns = bpf_ktime_get_boot_ns();
			ctx_tuple(&s->net, ctx);
			clear_net(&s->net);
			s->net.direction = 2;
			s->net.outcome = err == ECONNREFUSED ? O_REFUSED : O_FAILED;
			s->net.err = err;
			submit(s, 0);
		} else if (s && o->established && cfg_tier != TIER_SERVER) {
			struct tcp_sock *tp = (struct tcp_sock *)ctx->skaddr;
			s->h = o->h;
			s->h.kind = K_CLOSE;
			s->h.ts_ns = bpf_ktime_get_boot_ns();
			s->net = o->net;
			s->net.bytes_in = BPF_CORE_READ(tp, bytes_received);
			s->net.bytes_out = BPF_CORE_READ(tp, bytes_sent);
			submit(s, 0);
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

/* inet_sock_of returns the socket behind fd when it is an IPv4/IPv6 socket of `proto`, else NULL. */
static __always_inline struct sock *inet_sock_of(struct task_struct *t, int fd, __u8 proto)
{
	struct sock *sk = fd_sock(t, fd);

	if (!sk)
		return NULL;
	__u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);
	if (family != AF_INET && family != AF_INET6)
		return NULL;
	if (BPF_CORE_READ_BITFIELD_PROBED(sk, sk_protocol) != proto)
		return NULL;
	return sk;
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
	sk = inet_sock_of(t, fd, IPPROTO_TCP);
	if (!sk)
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

static __always_inline int stash_net(__u32 kind, int fd, __u64 p1, __u32 flags)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct stash st = {};

	st.kind = kind;
	st.dfd1 = fd;
	st.flags = flags;
	st.p1 = p1;
	bpf_map_update_elem(&stashes, &tid, &st, BPF_ANY);
	return 0;
}

static __always_inline struct stash *take_stash(__u32 kind, struct stash *out)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct stash *st = bpf_map_lookup_elem(&stashes, &tid);

	if (!st || st->kind != kind)
		return NULL;
	*out = *st;
	bpf_map_delete_elem(&stashes, &tid);
	return out;
}

/* read_sockaddr puts the address and port of a user sockaddr into n's remote end. */
static __always_inline int read_sockaddr(struct net_body *n, void *name)
{
	struct sockaddr_in6_u sa = {};

	if (bpf_probe_read_user(&sa, sizeof(sa), name) != 0)
		return -1;
	__builtin_memset(n->raddr, 0, sizeof(n->raddr));
	if (sa.family == AF_INET) {
		struct sockaddr_in_u *sin = (struct sockaddr_in_u *)&sa;
		__builtin_memcpy(n->raddr, &sin->addr, 4);
		n->family = AF_INET;
	} else if (sa.family == AF_INET6) {
		__builtin_memcpy(n->raddr, sa.addr, 16);
		n->family = AF_INET6;
	} else {
		return -1;
	}
	n->rport = bpf_ntohs(sa.port);
	return 0;
}

/* connect: the entry remembers the socket and the address; the exit reports an attempt that
 * failed before the socket reached SYN_SENT (no route, ENETUNREACH, EACCES, ...). Attempts that
 * reached SYN_SENT are reported by the state tracepoint. */
SEC("tracepoint/syscalls/sys_enter_connect")
int on_connect_enter(struct trace_event_raw_sys_enter *ctx)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	int fd = ctx->args[0];

	if (is_ignored(bpf_get_current_pid_tgid() >> 32) || !inet_sock_of(t, fd, IPPROTO_TCP))
		return 0;
	return stash_net(K_CONNECT, fd, ctx->args[1], 0);
}

SEC("tracepoint/syscalls/sys_exit_connect")
int on_connect_exit(struct trace_event_raw_sys_exit *ctx)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	long ret = ctx->ret;
	struct stash a;
	struct scratch *s;
	struct sock *sk;

	if (!take_stash(K_CONNECT, &a) || (a.flags & STASH_SYN_SENT) || ret >= 0)
		return 0;
	if (ret == -EINPROGRESS || ret == -EALREADY || ret == -EISCONN || ret == -EINTR || ret == -ERESTARTSYS)
		return 0;
	sk = inet_sock_of(t, a.dfd1, IPPROTO_TCP);
	s = get_scratch();
	if (!sk || !s)
		return 0;
	fill_hdr(&s->h, K_CONNECT);
	sock_tuple(&s->net, sk);
	clear_net(&s->net);
	if (read_sockaddr(&s->net, (void *)a.p1) != 0)
		return 0;
	s->net.direction = 2;
	s->net.outcome = O_FAILED;
	s->net.err = -ret;
	submit(s, 0);
	return 0;
}

/* listen: reported when it succeeds on a TCP socket that was not listening yet. */
SEC("tracepoint/syscalls/sys_enter_listen")
int on_listen_enter(struct trace_event_raw_sys_enter *ctx)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	int fd = ctx->args[0];
	struct sock *sk;

	if (is_ignored(bpf_get_current_pid_tgid() >> 32))
		return 0;
	sk = inet_sock_of(t, fd, IPPROTO_TCP);
	if (!sk || BPF_CORE_READ(sk, __sk_common.skc_state) == TCP_LISTEN)
		return 0;
	return stash_net(K_LISTEN, fd, 0, 0);
}

SEC("tracepoint/syscalls/sys_exit_listen")
int on_listen_exit(struct trace_event_raw_sys_exit *ctx)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	struct stash a;
	struct scratch *s;
	struct sock *sk;

	if (!take_stash(K_LISTEN, &a) || ctx->ret != 0)
		return 0;
	sk = inet_sock_of(t, a.dfd1, IPPROTO_TCP);
	s = get_scratch();
	if (!sk || !s)
		return 0;
	fill_hdr(&s->h, K_LISTEN);
	sock_tuple(&s->net, sk);
	clear_net(&s->net);
	s->net.direction = 1;
	submit(s, 0);
	return 0;
}

/* dns_send reports a datagram sent on a UDP socket to port 53: `name` is the destination given
 * to the syscall (NULL for a connected socket), `buf` the payload. Any other datagram is stashed
 * for the syscall's exit, which counts it in its UDP flow (`mode`: STASH_UDP_*). */
static __noinline int dns_send(__u64 fd_mode, void *name, void *buf, __u64 len, __u64 arg)
{
	int fd = (int)(__u32)fd_mode;
	__u32 mode = fd_mode >> 32;
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct scratch *s;
	struct sock *sk;

	if (is_ignored(tgid))
		return 0;
	sk = inet_sock_of(t, fd, IPPROTO_UDP);
	if (!sk)
		return 0;
	s = get_scratch();
	if (!s)
		return 0;
	fill_hdr(&s->h, K_DNS);
	sock_tuple(&s->net, sk);
	clear_net(&s->net);
	s->net.protocol = IPPROTO_UDP;
	s->net.direction = 2;
	if (name && read_sockaddr(&s->net, name) != 0)
		return 0;
	if (s->net.rport != 53) {
		if (s->net.lport != 53)
			stash_net(K_UDP, fd, arg, mode);
		return 0;
	}
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
	return dns_send((__u32)ctx->args[0], (void *)ctx->args[4], (void *)ctx->args[1], ctx->args[2], ctx->args[4]);
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

static __always_inline int dns_msg(int fd, void *umsg, __u64 arg, __u32 mode)
{
	struct msghdr_u m;
	struct iovec_u iov;

	if (bpf_probe_read_user(&m, sizeof(m), umsg) != 0 || m.iovlen < 1)
		return 0;
	if (bpf_probe_read_user(&iov, sizeof(iov), m.iov) != 0)
		return 0;
	return dns_send((__u32)fd | ((__u64)mode << 32), m.name, iov.base, iov.len, arg);
}

SEC("tracepoint/syscalls/sys_enter_sendmsg")
int on_sendmsg(struct trace_event_raw_sys_enter *ctx)
{
	return dns_msg(ctx->args[0], (void *)ctx->args[1], ctx->args[1], STASH_UDP_MSG);
}

/* sendmmsg: glibc sends the A and AAAA questions together; report the first two messages. A UDP
 * flow counts the first message only. */
SEC("tracepoint/syscalls/sys_enter_sendmmsg")
int on_sendmmsg(struct trace_event_raw_sys_enter *ctx)
{
	int fd = ctx->args[0];
	char *vec = (char *)ctx->args[1];
	__u32 vlen = ctx->args[2];

	if (vlen > 0)
		dns_msg(fd, vec, (__u64)vec, STASH_UDP_MMSG);
	if (vlen > 1)
		dns_msg(fd, vec + 64, 0, 0); /* sizeof(struct mmsghdr) on 64-bit */
	return 0;
}

/* udp_count counts one datagram of `bytes` in its flow (socket + peer). The flow's first
 * datagram is reported at once; later ones are added up and reported at most once per
 * cfg_udp_interval_ns (workstation tier; the helper reports what a quiet flow still holds). */
static __noinline int udp_count(struct sock *sk, void *name, __u64 bytes, __u32 inbound)
{
	struct scratch *s = get_scratch();
	struct udp_key k = {};
	struct udp_flow *f;
	__u64 now = bpf_ktime_get_boot_ns();

	if (!s)
		return 0;
	fill_hdr(&s->h, K_UDP);
	sock_tuple(&s->net, sk);
	clear_net(&s->net);
	s->net.protocol = IPPROTO_UDP;
	if (name && read_sockaddr(&s->net, name) != 0)
		return 0;
	if (s->net.rport == 0 || s->net.rport == 53 || s->net.lport == 53)
		return 0; /* not a peer, or DNS (reported as DNS) */
	k.sk = (__u64)sk;
	__builtin_memcpy(k.raddr, s->net.raddr, 16);
	k.rport = s->net.rport;
	k.family = s->net.family;
	f = bpf_map_lookup_elem(&udp_flows, &k);
	if (!f) {
		struct udp_flow fresh = {};
		s->net.direction = inbound ? 1 : 2;
		if (inbound)
			s->net.bytes_in = bytes;
		else
			s->net.bytes_out = bytes;
		s->net.packets = 1;
		submit(s, 0);
		fresh.h = s->h;
		fresh.net = s->net;
		fresh.net.bytes_in = 0;
		fresh.net.bytes_out = 0;
		fresh.net.packets = 0;
		fresh.last_ns = now;
		bpf_map_update_elem(&udp_flows, &k, &fresh, BPF_NOEXIST);
		return 0;
	}
	if (inbound)
		__sync_fetch_and_add(&f->net.bytes_in, bytes);
	else
		__sync_fetch_and_add(&f->net.bytes_out, bytes);
	f->net.packets += 1;
	if (cfg_tier == TIER_SERVER || now - f->last_ns < cfg_udp_interval_ns)
		return 0;
	s->h = f->h;
	s->h.kind = K_UDP;
	s->h.ts_ns = now;
	s->net = f->net;
	s->net.outcome = O_TRAFFIC;
	f->net.bytes_in = 0;
	f->net.bytes_out = 0;
	f->net.packets = 0;
	f->last_ns = now;
	submit(s, 0);
	return 0;
}

/* udp_exit finishes a stashed UDP send or receive of `ret` bytes (or messages, for mmsg). */
static __always_inline int udp_exit(long ret)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	struct stash a;
	struct sock *sk;
	void *name = (void *)0;
	__u64 bytes = ret;

	if (!take_stash(K_UDP, &a) || ret <= 0)
		return 0;
	sk = inet_sock_of(t, a.dfd1, IPPROTO_UDP);
	if (!sk)
		return 0;
	if (a.flags & (STASH_UDP_MSG | STASH_UDP_MMSG)) {
		struct msghdr_u m;
		if (bpf_probe_read_user(&m, sizeof(m), (void *)a.p1) != 0)
			return 0;
		name = m.name;
		if (a.flags & STASH_UDP_MMSG) {
			__u32 len = 0;
			bpf_probe_read_user(&len, sizeof(len), (void *)(a.p1 + 56)); /* mmsghdr.msg_len */
			bytes = len;
		}
	} else {
		name = (void *)a.p1;
	}
	return udp_count(sk, name, bytes, a.flags & STASH_UDP_IN);
}

SEC("tracepoint/syscalls/sys_exit_sendto")
int on_sendto_exit(struct trace_event_raw_sys_exit *ctx) { return udp_exit(ctx->ret); }

SEC("tracepoint/syscalls/sys_exit_sendmsg")
int on_sendmsg_exit(struct trace_event_raw_sys_exit *ctx) { return udp_exit(ctx->ret); }

SEC("tracepoint/syscalls/sys_exit_sendmmsg")
int on_sendmmsg_exit(struct trace_event_raw_sys_exit *ctx) { return udp_exit(ctx->ret); }

static __always_inline int udp_recv_enter(int fd, __u64 arg, __u32 mode)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();

	if (is_ignored(bpf_get_current_pid_tgid() >> 32) || !inet_sock_of(t, fd, IPPROTO_UDP))
		return 0;
	return stash_net(K_UDP, fd, arg, mode | STASH_UDP_IN);
}

SEC("tracepoint/syscalls/sys_enter_recvfrom")
int on_recvfrom(struct trace_event_raw_sys_enter *ctx) { return udp_recv_enter(ctx->args[0], ctx->args[4], 0); }

SEC("tracepoint/syscalls/sys_enter_recvmsg")
int on_recvmsg(struct trace_event_raw_sys_enter *ctx)
{
	return udp_recv_enter(ctx->args[0], ctx->args[1], STASH_UDP_MSG);
}

SEC("tracepoint/syscalls/sys_exit_recvfrom")
int on_recvfrom_exit(struct trace_event_raw_sys_exit *ctx) { return udp_exit(ctx->ret); }

SEC("tracepoint/syscalls/sys_exit_recvmsg")
int on_recvmsg_exit(struct trace_event_raw_sys_exit *ctx) { return udp_exit(ctx->ret); }

#endif
