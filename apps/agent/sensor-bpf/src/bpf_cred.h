// SPDX-License-Identifier: GPL-2.0
/* bpf_cred.h: privilege changes (setuid() & co, capset(), setuid-binary execs) and injection
 * between processes (ptrace attach/seize/pokes, process_vm_writev).
 * Included once, by palisade.bpf.c: the programs form one BPF object and share its maps. */
#ifndef PALISADE_BPF_CRED_H
#define PALISADE_BPF_CRED_H

#define PTRACE_POKETEXT 4
#define PTRACE_POKEDATA 5
#define PTRACE_POKEUSER 6
#define PTRACE_SETREGS 13
#define PTRACE_ATTACH 16
#define PTRACE_SEIZE 0x4206
#define PTRACE_SETREGSET 0x4205

/* Credentials before a syscall that may change them (or an exec), per thread. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct rec_creds);
} creds_before SEC(".maps");

/* Pokes already reported: (actor tgid << 32 | target tgid) -> last report, boottime ns. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, __u64);
} pokes_seen SEC(".maps");

static __always_inline void read_creds(struct rec_creds *c, struct task_struct *t)
{
	const struct cred *cr = BPF_CORE_READ(t, cred);

	c->uid = BPF_CORE_READ(cr, uid.val);
	c->euid = BPF_CORE_READ(cr, euid.val);
	c->suid = BPF_CORE_READ(cr, suid.val);
	c->fsuid = BPF_CORE_READ(cr, fsuid.val);
	c->gid = BPF_CORE_READ(cr, gid.val);
	c->egid = BPF_CORE_READ(cr, egid.val);
	c->sgid = BPF_CORE_READ(cr, sgid.val);
	c->fsgid = BPF_CORE_READ(cr, fsgid.val);
	c->cap_effective = BPF_CORE_READ(cr, cap_effective.val);
	c->cap_permitted = BPF_CORE_READ(cr, cap_permitted.val);
}

static __always_inline int creds_differ(struct rec_creds *a, struct rec_creds *b)
{
	return a->uid != b->uid || a->euid != b->euid || a->suid != b->suid || a->gid != b->gid ||
	       a->egid != b->egid || a->sgid != b->sgid || a->cap_effective != b->cap_effective ||
	       a->cap_permitted != b->cap_permitted;
}

static __always_inline int save_creds(void)
{
	__u64 pt = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)pt;
	struct rec_creds c;

	if (is_ignored(pt >> 32))
		return 0;
	read_creds(&c, (struct task_struct *)bpf_get_current_task());
	bpf_map_update_elem(&creds_before, &tid, &c, BPF_ANY);
	return 0;
}

/* report_setid sends a K_SETID record when the thread's credentials differ from those saved. */
static __noinline int report_setid(__u32 how, __u32 nr)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct rec_creds *before = bpf_map_lookup_elem(&creds_before, &tid);
	struct scratch *s;
	struct rec_creds now;

	if (!before)
		return 0;
	read_creds(&now, (struct task_struct *)bpf_get_current_task());
	if (!creds_differ(before, &now)) {
		bpf_map_delete_elem(&creds_before, &tid);
		return 0;
	}
	s = get_scratch();
	if (!s)
		return 0;
	fill_hdr(&s->h, K_SETID);
	s->setid.before = *before;
	s->setid.how = how;
	s->setid.syscall_nr = nr;
	bpf_map_delete_elem(&creds_before, &tid);
	__builtin_memcpy(s->data, &now, sizeof(now));
	submit(s, sizeof(now));
	return 0;
}

#define SETID_PAIR(name)                                                                       \
	SEC("tracepoint/syscalls/sys_enter_" #name)                                            \
	int on_##name(struct trace_event_raw_sys_enter *ctx) { return save_creds(); }          \
	SEC("tracepoint/syscalls/sys_exit_" #name)                                             \
	int on_##name##_exit(struct trace_event_raw_sys_exit *ctx)                             \
	{                                                                                      \
		return ctx->ret == 0 ? report_setid(SETID_SYSCALL, ctx->id) : 0;               \
	}

SETID_PAIR(setuid)
SETID_PAIR(setgid)
SETID_PAIR(setreuid)
SETID_PAIR(setregid)
SETID_PAIR(setresuid)
SETID_PAIR(setresgid)
SETID_PAIR(capset)

/* execve: the credentials before are saved at entry; sched_process_exec compares. */
SEC("tracepoint/syscalls/sys_enter_execve")
int on_execve(struct trace_event_raw_sys_enter *ctx) { return save_creds(); }

SEC("tracepoint/syscalls/sys_enter_execveat")
int on_execveat(struct trace_event_raw_sys_enter *ctx) { return save_creds(); }

static __always_inline int report_inject(__u32 target, __u32 type, __u64 addr, __u64 bytes)
{
	struct scratch *s = get_scratch();

	if (!s)
		return 0;
	fill_hdr(&s->h, K_INJECT);
	/* The target is the pid (thread id) given to the syscall, as the caller named it (in the
	 * caller's pid namespace); the agent resolves its thread group. */
	s->inject.target_pid = target;
	s->inject.type = type;
	s->inject.addr = addr;
	s->inject.bytes = bytes;
	s->inject._pad = 0;
	submit(s, 0);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_ptrace")
int on_ptrace(struct trace_event_raw_sys_enter *ctx)
{
	__u64 pt = bpf_get_current_pid_tgid();
	long req = ctx->args[0];

	if (is_ignored(pt >> 32))
		return 0;
	if (req != PTRACE_ATTACH && req != PTRACE_SEIZE && req != PTRACE_POKETEXT && req != PTRACE_POKEDATA &&
	    req != PTRACE_POKEUSER && req != PTRACE_SETREGS && req != PTRACE_SETREGSET)
		return 0;
	return stash_net(K_INJECT, (int)ctx->args[1], ctx->args[2], (__u32)req);
}

SEC("tracepoint/syscalls/sys_exit_ptrace")
int on_ptrace_exit(struct trace_event_raw_sys_exit *ctx)
{
	struct stash a;

	if (!take_stash(K_INJECT, &a) || ctx->ret < 0)
		return 0;
	if (a.flags == PTRACE_ATTACH)
		return report_inject(a.dfd1, INJ_PTRACE_ATTACH, 0, 0);
	if (a.flags == PTRACE_SEIZE)
		return report_inject(a.dfd1, INJ_PTRACE_SEIZE, 0, 0);
	/* Pokes come a word at a time: one record per actor, target and second. */
	__u64 key = (bpf_get_current_pid_tgid() & 0xffffffff00000000ULL) | (__u32)a.dfd1;
	__u64 now = bpf_ktime_get_boot_ns();
	__u64 *last = bpf_map_lookup_elem(&pokes_seen, &key);
	if (last && now - *last < 1000000000ULL)
		return 0;
	bpf_map_update_elem(&pokes_seen, &key, &now, BPF_ANY);
	return report_inject(a.dfd1, INJ_PTRACE_POKE, a.p1, 0);
}

SEC("tracepoint/syscalls/sys_enter_process_vm_writev")
int on_vm_writev(struct trace_event_raw_sys_enter *ctx)
{
	if (is_ignored(bpf_get_current_pid_tgid() >> 32))
		return 0;
	return stash_net(K_INJECT, (int)ctx->args[0], 0, INJ_VM_WRITEV);
}

SEC("tracepoint/syscalls/sys_exit_process_vm_writev")
int on_vm_writev_exit(struct trace_event_raw_sys_exit *ctx)
{
	struct stash a;

	if (!take_stash(K_INJECT, &a) || ctx->ret <= 0)
		return 0;
	return report_inject(a.dfd1, INJ_VM_WRITEV, 0, ctx->ret);
}

#endif
