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

#endif
