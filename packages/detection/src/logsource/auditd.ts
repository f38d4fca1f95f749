import type { Event } from '@palisade/protocol';
import type { Getter } from './fields.js';
import { basename, s } from './fields.js';

/**
 * The auditd view: Palisade's exec, file and connect events presented as the records auditd
 * would have written for them, so that SigmaHQ's `service: auditd` rules evaluate. Each event
 * becomes several records (rules see one record at a time, as with a real audit log):
 * - exec: SYSCALL (execve), EXECVE (argc, a0..aN), PATH (the executable, nametype NORMAL)
 * - file create/update: SYSCALL (openat), PATH (CREATE or NORMAL); delete: SYSCALL (unlinkat),
 *   PATH (DELETE); rename: SYSCALL (renameat2), PATH old name (DELETE), PATH new name (CREATE)
 * - TCP connect/accept: SYSCALL (connect / accept)
 * What auditd has and Palisade does not: audit rule keys (`key`), other syscalls, records such
 * as SERVICE_STOP, ADD_USER, TTY. Rules needing them are reported as unsupported.
 */
export const REC_SYSCALL = 0;
export const REC_EXECVE = 1;
export const REC_PATH = 2;
/** The second PATH record of a rename (the new name). */
export const REC_PATH2 = 3;

const EXEC = [REC_SYSCALL, REC_EXECVE, REC_PATH];
const FILE = [REC_SYSCALL, REC_PATH];
const RENAME = [REC_SYSCALL, REC_PATH, REC_PATH2];
const NET = [REC_SYSCALL];
const NONE: number[] = [];

/** auditRecords lists the records an event becomes in the auditd view. */
export function auditRecords(e: Event): number[] {
  if (e.classUid === 1007 && e.activityId === 1) return EXEC;
  if (e.classUid === 1001)
    return e.activityId === 5 ? RENAME : e.activityId <= 4 && e.activityId !== 2 ? FILE : NONE;
  if (e.classUid === 4001 && e.activityId === 1) return NET;
  return NONE;
}

/**
 * SYSCALLS maps an event to the syscall auditd would name. A new kind of telemetry (memfd_create,
 * ptrace, setuid...) is one line here and one in AUDIT_SYSCALLS.
 */
function syscallOf(e: Event): string | undefined {
  if (e.classUid === 1007 && e.activityId === 1) return 'execve';
  if (e.classUid === 1001)
    return ({ 1: 'openat', 3: 'openat', 4: 'unlinkat', 5: 'renameat2' } as Record<number, string>)[
      e.activityId
    ];
  if (e.classUid === 4001) return e.connectionInfo?.directionId === 1 ? 'accept' : 'connect';
  return undefined;
}

/** The syscalls the auditd view can name (the finite domain of the SYSCALL field). */
export const AUDIT_SYSCALLS = ['execve', 'openat', 'unlinkat', 'renameat2', 'connect', 'accept'];
export const AUDIT_TYPES = ['SYSCALL', 'EXECVE', 'PATH'];
export const AUDIT_NAMETYPES = ['NORMAL', 'CREATE', 'DELETE'];

const TYPE_NAMES = ['SYSCALL', 'EXECVE', 'PATH', 'PATH'];

/** auditTypeOf names a record's type. */
export const auditTypeOf = (rec: number): string => TYPE_NAMES[rec]!;

const onSyscall =
  (g: (e: Event) => string | number | undefined): Getter =>
  (e, _c, rec) =>
    rec === REC_SYSCALL ? g(e) : undefined;

function pathName(e: Event, rec: number): string | undefined {
  if (rec === REC_PATH2) return s(e.fileResult?.path);
  if (rec !== REC_PATH) return undefined;
  return e.classUid === 1001 ? s(e.file?.path) : s(e.process?.path);
}

function nameType(e: Event, rec: number): string | undefined {
  if (rec === REC_PATH2) return 'CREATE';
  if (rec !== REC_PATH) return undefined;
  if (e.classUid !== 1001) return 'NORMAL';
  return e.activityId === 1 ? 'CREATE' : e.activityId === 4 || e.activityId === 5 ? 'DELETE' : 'NORMAL';
}

/** Arguments a0..a(N-1) are fields of the EXECVE record. */
export const AUDIT_ARGS = 32;

export function auditFields(): [string, Getter, string][] {
  const out: [string, Getter, string][] = [
    ['type', (_e, _c, rec) => TYPE_NAMES[rec], 'record type: SYSCALL, EXECVE or PATH'],
    ['SYSCALL', onSyscall(syscallOf), `syscall name (${AUDIT_SYSCALLS.join(', ')})`],
    ['success', onSyscall((e) => (e.statusId === 2 ? 'no' : 'yes')), 'yes, or no for a failed connect'],
    ['exe', onSyscall((e) => s(e.process?.path)), 'executable'],
    [
      'comm',
      onSyscall((e) => s(e.process?.name) ?? (e.process?.path ? basename(e.process.path) : undefined)),
      'process name',
    ],
    ['pid', onSyscall((e) => e.process?.pid || undefined), 'pid'],
    ['ppid', onSyscall((e) => e.process?.ppid || e.process?.parent?.pid || undefined), 'parent pid'],
    ['uid', onSyscall((e) => s(e.process?.user?.uid)), 'uid'],
    ['euid', onSyscall((e) => (e.process?.user ? e.process.user.euid : undefined)), 'effective uid'],
    ['gid', onSyscall((e) => (e.process?.user ? e.process.user.gid : undefined)), 'gid'],
    ['egid', onSyscall((e) => (e.process?.user ? e.process.user.egid : undefined)), 'effective gid'],
    ['auid', onSyscall((e) => (e.process?.user ? e.process.user.auid : undefined)), 'login uid'],
    ['ses', onSyscall((e) => e.process?.sessionId || undefined), 'session id'],
    ['tty', onSyscall((e) => s(e.process?.tty)), 'terminal'],
    ['cwd', onSyscall((e) => s(e.process?.cwd)), 'working directory'],
    [
      'argc',
      (e, _c, rec) => (rec === REC_EXECVE ? (e.process?.argv.length ?? 0) : undefined),
      'EXECVE: number of arguments',
    ],
    ['name', (e, _c, rec) => pathName(e, rec), 'PATH: the path'],
    ['nametype', (e, _c, rec) => nameType(e, rec), 'PATH: NORMAL, CREATE or DELETE'],
    [
      'item',
      (_e, _c, rec) => (rec === REC_PATH ? 0 : rec === REC_PATH2 ? 1 : undefined),
      'PATH: item number',
    ],
  ];
  for (let i = 0; i < AUDIT_ARGS; i++) {
    out.push([
      `a${i}`,
      (e, _c, rec) => (rec === REC_EXECVE ? e.process?.argv[i] : undefined),
      i === 0 ? 'EXECVE: argv[0], argv[1], ...' : '',
    ]);
  }
  return out;
}
