/* records.h: the binary records the eBPF programs and the helper write to stdout.
 *
 * Every record starts with struct rec_hdr. All integers are little-endian (host order on the
 * platforms we build for); `size` is the whole record, header included. The TypeScript parser in
 * apps/agent/src/sensors/bpf/records.ts mirrors these layouts: change both together and bump
 * REC_VERSION.
 */
#ifndef PALISADE_RECORDS_H
#define PALISADE_RECORDS_H

#define REC_MAGIC 0x5041 /* "PA" */
#define REC_VERSION 2

/* Kernel records: a 64-byte header, a 64-byte body area (the kind's body, zero-padded), then
 * the kind's variable data. Helper records: header and body only. */
#define REC_BODY_SIZE 64
#define REC_DATA_OFFSET 128

/* Kernel record kinds (index into the drop counters). */
enum rec_kind {
	K_EXEC = 1,
	K_EXIT = 2,
	K_CONNECT = 3,
	K_ACCEPT = 4,
	K_CLOSE = 5,
	K_DNS = 6,
	K_OPEN = 7,
	K_UNLINK = 8,
	K_RENAME = 9,
	K_LISTEN = 10,  /* a TCP socket started listening */
	K_UDP = 11,     /* a UDP flow: its first datagram, then its traffic per interval */
	K_INJECT = 12,  /* one process writes into another: ptrace attach/seize/poke, process_vm_writev */
	K_SETID = 13,   /* a process's user/group ids or capabilities changed */
	K_MAX = 16,
};

/* Helper (user space) record kinds. */
enum helper_kind {
	H_HELLO = 100,
	H_STATS = 101,
	H_ACK = 102,
};

/* Exec, privilege and injection records go to a ring buffer of their own (PRIO_RINGBUF_BYTES),
 * so that a storm of file or network records cannot crowd them out. */
#define PRIO_RINGBUF_BYTES (1 << 20)
#define IS_PRIO_KIND(k) ((k) == K_EXEC || (k) == K_SETID || (k) == K_INJECT)
/* File and network records are limited per process: at most cfg_noisy_per_sec per second. */
#define IS_NOISY_KIND(k) ((k) == K_OPEN || (k) == K_UNLINK || (k) == K_RENAME || (k) == K_UDP || \
			  (k) == K_DNS || (k) == K_CONNECT || (k) == K_LISTEN)

#define TIER_SERVER 1
#define TIER_WORKSTATION 2

/* Limits, documented in sensor-bpf/README.md. */
#define ARGV_MAX 4096        /* bytes of argv copied per exec */
#define PATH_BYTES 2048      /* bytes of path components per path */
#define PATH_DEPTH 48        /* path components per path */
#define NAME_READ 256        /* bytes read per component / raw path chunk */
#define RAW_PATH_MAX 1024    /* bytes of a path string passed to a syscall */
#define DNS_PAYLOAD 512      /* bytes of a DNS query payload copied */
#define DATA_SIZE 20480      /* scratch data area */
#define DATA_MASK 16383      /* offsets are masked to stay inside DATA_SIZE */

/* Record flags. */
#define F_ARGV_TRUNC 1
#define F_PATH1_TRUNC 2
#define F_PATH2_TRUNC 4
#define F_CREATED 8
#define F_ABS1 16 /* name 1 is absolute: no directory walked */
#define F_ABS2 32
#define F_EXE_NOFILE 64    /* exec: the executable has no file on disk (memfd_create) */
#define F_EXE_DELETED 128  /* exec / exit: the executable's file has no links left */
#define F_CGROUP_TRUNC 256 /* exec: the cgroup path was cut */

struct rec_hdr {
	__u16 magic;
	__u16 kind;
	__u32 size;
	__u64 ts_ns;    /* CLOCK_BOOTTIME ns */
	__u64 start_ns; /* thread-group leader start, CLOCK_BOOTTIME ns */
	__u32 pid;      /* tgid */
	__u32 tid;
	__u32 ppid;     /* real parent's tgid */
	__u32 uid;
	__u32 gid;
	__u32 flags;
	char comm[16];
}; /* 64 bytes */

/* K_EXEC body; then data: struct exec_ext, argv (argv_len bytes, NUL separated), exe path
 * components (exe_len), cwd path components (cwd_len), cgroup path components (exec_ext.cgroup_len).
 * Path components run leaf to root, each NUL-terminated; no component means "/". For an
 * executable with no file on disk (F_EXE_NOFILE) the exe is one component, its name
 * ("memfd:NAME"). */
struct exec_body {
	__u32 euid;
	__u32 egid;
	__u32 auid;
	__u32 sessionid;
	__u64 cgroup_id;
	__u16 argv_len;
	__u16 exe_len;
	__u16 cwd_len;
	__u16 _pad;
	char tty[32];
}; /* 64 bytes */

/* The start of a K_EXEC record's data: the executable's identity (for hashing) and the
 * process's namespaces. */
struct exec_ext {
	__u64 ino;         /* the executable's inode */
	__u64 size;
	__s64 mtime_sec;
	__u32 mtime_nsec;
	__u32 dev;         /* the kernel's dev_t: major << 20 | minor */
	__u32 nlink;
	__u32 pid_ns;      /* namespace inode numbers, as in /proc/PID/ns/ */
	__u32 mnt_ns;
	__u32 net_ns;
	__u16 cgroup_len;  /* bytes of cgroup path components after the cwd */
	__u16 _pad;
	__u32 _pad2;
}; /* 56 bytes */

#define EXEC_EXT_SIZE 56
#define CGROUP_DEPTH 16

/* K_EXIT body. */
struct exit_body {
	__u32 exit_code; /* task->exit_code: status << 8 | signal */
	__u32 _pad;
};

/* net_body.outcome */
#define O_OPEN 0     /* connect established, listen started, first datagram of a UDP flow */
#define O_REFUSED 1  /* connect refused by the peer (RST) */
#define O_FAILED 2   /* connect failed: timeout, unreachable, ...; err says why (0: closed first) */
#define O_TRAFFIC 3  /* K_UDP: the bytes of a flow since its previous record */

/* K_CONNECT / K_ACCEPT / K_CLOSE / K_DNS / K_LISTEN / K_UDP body. Local and remote addresses;
 * ports host order. For K_DNS, data: the first bytes of the UDP payload (payload_len). For K_UDP,
 * bytes_in/bytes_out and packets count since the flow's previous record. */
struct net_body {
	__u16 family; /* 2 AF_INET, 10 AF_INET6 */
	__u16 protocol; /* 6 TCP, 17 UDP */
	__u16 lport;
	__u16 rport;
	__u8 laddr[16];
	__u8 raddr[16];
	__u64 bytes_in;
	__u64 bytes_out;
	__u8 direction; /* 1 inbound, 2 outbound */
	__u8 outcome;   /* O_* */
	__u16 payload_len;
	__u16 err;      /* errno of a failed connect */
	__u16 packets;  /* K_UDP: datagrams counted in bytes_in + bytes_out */
}; /* 64 bytes */

/* K_OPEN / K_UNLINK / K_RENAME body; then data: name1 (n1_len, NUL-terminated syscall
 * argument), dir1 components (d1_len), name2, dir2. For K_OPEN, d1 holds the opened file's own
 * path components and n1 is empty. */
struct file_body {
	__u32 open_flags;
	__u16 n1_len;
	__u16 d1_len;
	__u16 n2_len;
	__u16 d2_len;
	__u32 _pad;
}; /* 16 bytes */

/* A UDP flow: one socket and one peer. The value keeps the process that started it and the
 * bytes not yet reported (net.bytes_in/out, net.packets); the helper sweeps idle flows. */
struct udp_key {
	__u64 sk;
	__u8 raddr[16];
	__u16 rport;
	__u16 family;
	__u32 _pad;
};

struct udp_flow {
	struct rec_hdr h;
	struct net_body net;
	__u64 last_ns; /* when the flow's last record was sent */
};

/* K_INJECT body: the acting process is the header's; the target is target_pid. */
#define INJ_PTRACE_ATTACH 1
#define INJ_PTRACE_SEIZE 2
#define INJ_PTRACE_POKE 3  /* POKETEXT/POKEDATA/POKEUSER/SETREGS: at most one per actor, target and second */
#define INJ_VM_WRITEV 4

struct inject_body {
	__u32 target_pid;   /* tgid of the target (the pid given for ptrace is a thread id) */
	__u32 type;         /* INJ_* */
	__u64 addr;         /* the poke's address, or 0 */
	__u64 bytes;        /* process_vm_writev: bytes written */
	__u64 _pad;
}; /* 32 bytes */

/* Credentials, as in struct cred. */
struct rec_creds {
	__u32 uid, euid, suid, fsuid;
	__u32 gid, egid, sgid, fsgid;
	__u64 cap_effective;
	__u64 cap_permitted;
}; /* 48 bytes */

/* K_SETID body: the credentials before; data: struct rec_creds after. `how` says what changed them. */
#define SETID_SYSCALL 1 /* setuid() & co, capset() */
#define SETID_EXEC 2    /* executing a setuid/setgid/file-capability binary */

struct setid_body {
	struct rec_creds before;
	__u32 how;
	__u32 syscall_nr;   /* SETID_SYSCALL: the syscall number; SETID_EXEC: 0 */
}; /* 56 bytes */

/* H_HELLO: sent once after every program is attached. */
struct hello_body {
	__u32 version;
	__u32 helper_pid;
	__s64 realtime_minus_boottime_ns;
	__u32 ringbuf_bytes;
	__u32 _pad;
};

/* H_STATS: sent every second. Counters are totals since the helper started. */
struct stats_body {
	__s64 realtime_minus_boottime_ns;
	__u64 drops[K_MAX];
	__u64 emitted[K_MAX];
	__u64 suppressed[K_MAX]; /* noisy records the per-process rate limit held back */
};

/* H_ACK: a control command of the given sequence number was applied. */
struct ack_body {
	__u32 seq;
	__u32 ok;
};

#endif
