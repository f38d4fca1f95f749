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

/* exe_identity records the executable's inode facts and flags a file with no name on disk
 * (memfd: a pseudo dentry that is its own parent) or with no links left (deleted). */
static __always_inline void exe_identity(struct scratch *s, struct exec_ext *x, struct file *f)
{
	struct inode *ino = BPF_CORE_READ(f, f_inode);
	struct dentry *d = BPF_CORE_READ(f, f_path.dentry);
	struct vfsmount *vm = BPF_CORE_READ(f, f_path.mnt);

	x->ino = BPF_CORE_READ(ino, i_ino);
	x->size = BPF_CORE_READ(ino, i_size);
	x->mtime_sec = 0;
	x->mtime_nsec = 0;
	if (bpf_core_field_exists(ino->i_mtime_sec)) {
		x->mtime_sec = BPF_CORE_READ(ino, i_mtime_sec);
		x->mtime_nsec = BPF_CORE_READ(ino, i_mtime_nsec);
	}
	x->dev = BPF_CORE_READ(ino, i_sb, s_dev);
	x->nlink = BPF_CORE_READ(ino, __i_nlink);
	x->cgroup_len = 0;
	x->_pad = 0;
	x->_pad2 = 0;
	if (d == BPF_CORE_READ(d, d_parent) && d != BPF_CORE_READ(vm, mnt_root))
		s->h.flags |= F_EXE_NOFILE;
	else if (x->nlink == 0)
		s->h.flags |= F_EXE_DELETED;
}

static __always_inline void exec_namespaces(struct exec_ext *x, struct task_struct *t)
{
	struct pid *p = BPF_CORE_READ(t, thread_pid);
	unsigned int level = BPF_CORE_READ(p, level);
	struct upid u = {};

	bpf_probe_read_kernel(&u, sizeof(u), &p->numbers[level & 31]);
	x->pid_ns = BPF_CORE_READ(u.ns, ns.inum);
	x->mnt_ns = BPF_CORE_READ(t, nsproxy, mnt_ns, ns.inum);
	x->net_ns = BPF_CORE_READ(t, nsproxy, net_ns, ns.inum);
}

struct cg_walk {
	struct kernfs_node *kn;
	__u32 done;
};

static long cg_step(__u64 i, void *arg)
{
	struct cg_walk *w = arg;
	struct scratch *s = get_scratch();

	struct kernfs_node *kn = w->kn;
	if (!s || !kn)
		return 1;
	struct kernfs_node *parent = BPF_CORE_READ(kn, __parent);
	if (!parent) { /* the hierarchy's root: no name in the path */
		w->done = 1;
		return 1;
	}
	__u32 pos = s->pos;
	if (pos - s->pos_start >= PATH_BYTES)
		return 1;
	long n = bpf_probe_read_kernel_str(&s->data[pos & DATA_MASK], NAME_READ, BPF_CORE_READ(kn, name));
	if (n > 0)
		s->pos = pos + n;
	w->kn = parent;
	return 0;
}

/* put_cgroup writes the components of the task's cgroup v2 path, leaf to root. */
static __always_inline __u32 put_cgroup(struct scratch *s, __u32 off, struct task_struct *t)
{
	struct cg_walk w = { .kn = BPF_CORE_READ(t, cgroups, dfl_cgrp, kn), .done = 0 };

	s->pos = off;
	s->pos_start = off;
	bpf_loop(CGROUP_DEPTH, cg_step, &w, 0);
	if (!w.done)
		s->h.flags |= F_CGROUP_TRUNC;
	return s->pos;
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
	struct file *exe_file = BPF_CORE_READ(mm, exe_file);
	struct exec_ext *x = (struct exec_ext *)s->data;
	exe_identity(s, x, exe_file);
	exec_namespaces(x, t);

	unsigned long as = BPF_CORE_READ(mm, arg_start);
	unsigned long ae = BPF_CORE_READ(mm, arg_end);
	__u64 len = ae > as ? ae - as : 0;
	if (len > ARGV_MAX) {
		len = ARGV_MAX;
		s->h.flags |= F_ARGV_TRUNC;
	}
	if (bpf_probe_read_user(&s->data[EXEC_EXT_SIZE], len, (void *)as) != 0)
		len = 0;
	__u32 off = EXEC_EXT_SIZE + len;
	b->argv_len = len;

	struct path exe = BPF_CORE_READ(exe_file, f_path);
	__u32 end;
	if (s->h.flags & F_EXE_NOFILE) {
		/* memfd: the dentry is a pseudo root named "memfd:NAME"; the walk would give "/". */
		long n = bpf_probe_read_kernel_str(&s->data[off & DATA_MASK], NAME_READ,
						   BPF_CORE_READ(exe.dentry, d_name.name));
		end = off + (n > 0 ? n : 0);
	} else {
		end = put_path(s, off, &exe, F_PATH1_TRUNC);
	}
	b->exe_len = end - off;
	off = end;
	struct path cwd = BPF_CORE_READ(t, fs, pwd);
	end = put_path(s, off, &cwd, F_PATH2_TRUNC);
	b->cwd_len = end - off;
	off = end;
	end = put_cgroup(s, off, t);
	x->cgroup_len = end - off;
	submit(s, end);
	return report_setid(SETID_EXEC, 0);
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
	if (BPF_CORE_READ(t, mm, exe_file, f_inode, __i_nlink) == 0 && BPF_CORE_READ(t, mm))
		s->h.flags |= F_EXE_DELETED;
	s->exit.exit_code = BPF_CORE_READ(t, exit_code);
	s->exit._pad = 0;
	submit(s, 0);
	return 0;
}

#endif
