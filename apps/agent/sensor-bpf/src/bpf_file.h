// SPDX-License-Identifier: GPL-2.0
/* bpf_file.h: file-modification programs: open for write, unlink, rename (syscall entry
 * stashes the arguments, exit reports what succeeded).
 * Included once, by palisade.bpf.c: the programs form one BPF object and share its maps. */
#ifndef PALISADE_BPF_FILE_H
#define PALISADE_BPF_FILE_H

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

	if (!st || (st->kind != K_OPEN && st->kind != K_UNLINK && st->kind != K_RENAME))
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

#endif
