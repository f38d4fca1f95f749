// SPDX-License-Identifier: GPL-2.0
/* bpf_process.h: process programs: fork (ignore descendants of ignored pids), exec, exit.
 * Included once, by palisade.bpf.c: the programs form one BPF object and share its maps. */
#ifndef PALISADE_BPF_PROCESS_H
#define PALISADE_BPF_PROCESS_H

SEC("raw_tp/sched_process_fork")
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

#endif
