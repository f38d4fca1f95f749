import {
  create,
  type Event,
  EventSchema,
  type Process,
  ProcessSchema,
  type User,
  UserSchema,
} from '@palisade/protocol';
import { parseDnsQuestion } from './dns.js';
import { containerOf } from './container.js';
import { errnoName, errnoText } from './errno.js';
import { type ExeHashSource, HashState } from './exe-hash.js';
import type { PathFilter } from './paths.js';
import type { ProcessCache, ProcessEntry, ProcessFacts } from './process-cache.js';
import {
  type Credentials,
  type ExecRecord,
  type ExitRecord,
  type FileRecord,
  INJECTION_TYPES,
  type InjectRecord,
  Kind,
  type NetRecord,
  Outcome,
  type SetidRecord,
} from './records.js';
import type { UserNames } from './users.js';

/** MapperContext is what the mapper needs besides the record. */
export interface MapperContext {
  cache: ProcessCache;
  users: UserNames;
  paths: PathFilter;
  /** Wall-clock ms at boot: event time = bootWallMs + record time. */
  bootWallMs: () => number;
  /** Hashes executables; without it execs carry no hash. */
  hasher?: ExeHashSource;
}

const AT_REMOVEDIR = 0x200;
/** /proc/PID/mem or /proc/PID/task/TID/mem opened for writing: injection into PID. */
const PROC_MEM = /^\/proc\/(\d+)\/(?:task\/\d+\/)?mem$/;

function credsMessage(c: Credentials) {
  return {
    uid: c.uid,
    euid: c.euid,
    suid: c.suid,
    gid: c.gid,
    egid: c.egid,
    sgid: c.sgid,
    capEffective: c.capEffective,
    capPermitted: c.capPermitted,
  };
}

/**
 * EventMapper turns helper records into OCSF-shaped wire Events, enriching each with the acting
 * process from the process cache. Mapping:
 * - exec → Process Activity 1007 Launch (1); exit → Terminate (2) with exit_code (128 + signal
 *   and exit_signal for a process killed by a signal).
 * - connect → Network Activity 4001 Open (1), direction Outbound (2), or for an attempt that
 *   failed Refuse (5) / Fail (4) with status Failure and the errno (status_code, status_detail);
 *   accept → Open (1), Inbound (1); close → Close (2) with traffic bytes; src is the side that
 *   initiated. listen → Listen (7) with the local end as dst_endpoint. UDP flow → Open (1) for its
 *   first datagram (direction of that datagram), Traffic (6) with the bytes and datagrams since.
 * - DNS query → DNS Activity 4003 Query (1) with the first question.
 * - open for write → File System Activity 1001: Create (1) when the open created the file,
 *   Update (3) when it opened an existing file for writing or truncation; unlink → Delete (4);
 *   rename → Rename (5) with file (old) and file_result (new).
 * Returns null for records that yield no event (an ignored path, an unparseable DNS payload).
 */
export class EventMapper {
  constructor(private readonly ctx: MapperContext) {}

  map(r: ExecRecord | ExitRecord | NetRecord | FileRecord | InjectRecord | SetidRecord): Event | null {
    switch (r.kind) {
      case Kind.Inject:
        return this.inject(r.targetPid, INJECTION_TYPES[r.type] ?? `type ${r.type}`, r);
      case Kind.Setid:
        return this.setid(r);
      case Kind.Exec:
        return this.exec(r);
      case Kind.Exit:
        return this.exit(r);
      case Kind.Open:
      case Kind.Unlink:
      case Kind.Rename:
        return this.file(r);
      case Kind.Dns:
        return this.dns(r);
      default:
        return this.net(r);
    }
  }

  private time(tsNs: number): bigint {
    return BigInt(Math.round(this.ctx.bootWallMs() + tsNs / 1e6));
  }

  private user(e: ProcessEntry): User {
    return create(UserSchema, {
      uid: String(e.uid),
      name: this.ctx.users.name(e.uid),
      gid: e.gid,
      euid: e.euid,
      egid: e.egid,
      auid: e.auid,
    });
  }

  /**
   * process renders a cache entry (with its parent) as a wire Process. The message is built once
   * per entry and shared by that process's events: events are never mutated after they are made.
   */
  private process(e: ProcessEntry): Process {
    if (e.message) return e.message as Process;
    const p = this.ctx.cache.parentOf(e);
    e.message = create(ProcessSchema, {
      pid: e.pid,
      uid: e.uniqueId,
      name: e.name,
      path: e.path,
      cmdLine: e.cmdLine,
      argv: e.argv,
      argvTruncated: e.argvTruncated,
      cwd: e.cwd,
      createdTimeMs: BigInt(e.createdTimeMs),
      user: this.user(e),
      ppid: e.ppid,
      cgroupId: e.cgroupId,
      sessionId: e.sessionId === 0xffffffff ? 0 : e.sessionId,
      tty: e.tty,
      ...(e.facts ? factFields(e.facts) : {}),
      ...(p
        ? {
            parent: create(ProcessSchema, {
              pid: p.pid,
              uid: p.uniqueId,
              name: p.name,
              path: p.path,
              cmdLine: p.cmdLine,
            }),
          }
        : {}),
    });
    return e.message as Process;
  }

  private exec(r: ExecRecord): Event {
    const e = this.ctx.cache.fromExec(r, this.facts(r));
    return create(EventSchema, {
      classUid: 1007,
      activityId: 1,
      timeMs: this.time(r.tsNs),
      severityId: 1,
      process: this.process(e),
    });
  }

  private facts(r: ExecRecord): ProcessFacts {
    const h = this.ctx.hasher?.hash(r.pid, r.exe, {
      ino: r.exeIno,
      size: r.exeSize,
      mtimeSec: r.exeMtimeSec,
      mtimeNsec: r.exeMtimeNsec,
      dev: r.exeDev,
    }) ?? { sha256: '', state: HashState.None };
    const c = containerOf(r.cgroupPath);
    return {
      exeNoFile: r.exeNoFile,
      exeDeleted: r.exeDeleted,
      sha256: h.sha256,
      hashState: h.state,
      pidNs: r.pidNs,
      mntNs: r.mntNs,
      netNs: r.netNs,
      cgroupPath: r.cgroupPath,
      containerId: c?.id ?? '',
      containerRuntime: c?.runtime ?? '',
    };
  }

  private exit(r: ExitRecord): Event {
    const e = this.ctx.cache.lookup(r);
    this.ctx.cache.markExited(e);
    // The executable was deleted while the process ran: later renderings say so.
    if (r.exeDeleted && e.facts && !e.facts.exeDeleted) {
      e.facts = { ...e.facts, exeDeleted: true };
      e.message = undefined;
    }
    return create(EventSchema, {
      classUid: 1007,
      activityId: 2,
      timeMs: this.time(r.tsNs),
      severityId: 1,
      process: this.process(e),
      exitCode: r.signal ? 128 + r.signal : r.status,
      hasExitCode: true,
      exitSignal: r.signal,
    });
  }

  private net(r: NetRecord): Event {
    const local = { ip: r.localIp, port: r.localPort };
    const remote = { ip: r.remoteIp, port: r.remotePort };
    const inbound = r.direction === 1;
    const udp = r.kind === Kind.Udp;
    let activityId = 1;
    let failure: { statusId: number; statusDetail: string; statusCode: string } | undefined;
    if (r.kind === Kind.Close) activityId = 2;
    else if (r.kind === Kind.Listen) activityId = 7;
    else if (udp) activityId = r.outcome === Outcome.Traffic ? 6 : 1;
    else if (r.kind === Kind.Connect && r.outcome !== Outcome.Open) {
      activityId = r.outcome === Outcome.Refused ? 5 : 4;
      failure = {
        statusId: 2,
        statusCode: r.err ? errnoName(r.err) : 'ECANCELED',
        statusDetail: r.err ? errnoText(r.err) : 'closed by the process before it was established',
      };
    }
    const withBytes = r.kind === Kind.Close || udp;
    return create(EventSchema, {
      classUid: 4001,
      activityId,
      timeMs: this.time(r.tsNs),
      severityId: 1,
      ...(failure ?? {}),
      process: this.process(this.ctx.cache.lookup(r)),
      // A listener has no peer: its local end is the destination connections will come to.
      ...(r.kind === Kind.Listen
        ? { dstEndpoint: local }
        : { srcEndpoint: inbound ? remote : local, dstEndpoint: inbound ? local : remote }),
      connectionInfo: {
        protocolNum: udp ? 17 : 6,
        protocolName: udp ? 'udp' : 'tcp',
        directionId: inbound ? 1 : 2,
        protocolVerId: r.family,
      },
      ...(withBytes
        ? {
            traffic: {
              bytesIn: BigInt(r.bytesIn),
              bytesOut: BigInt(r.bytesOut),
              packets: BigInt(r.packets),
            },
          }
        : {}),
    });
  }

  private dns(r: NetRecord): Event | null {
    const q = parseDnsQuestion(r.payload);
    if (!q) return null;
    return create(EventSchema, {
      classUid: 4003,
      activityId: 1,
      timeMs: this.time(r.tsNs),
      severityId: 1,
      process: this.process(this.ctx.cache.lookup(r)),
      srcEndpoint: { ip: r.localIp, port: r.localPort },
      dstEndpoint: { ip: r.remoteIp, port: r.remotePort },
      connectionInfo: { protocolNum: 17, protocolName: 'udp', directionId: 2, protocolVerId: r.family },
      query: { hostname: q.hostname, type: q.type, class: q.class, packetUid: q.id },
    });
  }

  /** inject: `actor` wrote into (or took control of) process `targetPid`. */
  private inject(targetPid: number, type: string, actor: InjectRecord | FileRecord): Event {
    const a = this.ctx.cache.lookup(actor);
    const t = this.ctx.cache.findPid(targetPid);
    return create(EventSchema, {
      classUid: 1007,
      activityId: 4,
      timeMs: this.time(actor.tsNs),
      severityId: 1,
      process: t ? this.process(t) : create(ProcessSchema, { pid: targetPid }),
      actorProcess: this.process(a),
      injectionType: type,
    });
  }

  private setid(r: SetidRecord): Event {
    const e = this.ctx.cache.lookup(r);
    return create(EventSchema, {
      classUid: 1007,
      activityId: 5,
      timeMs: this.time(r.tsNs),
      severityId: 1,
      process: this.process(e),
      credsBefore: credsMessage(r.before),
      credsAfter: credsMessage(r.after),
      message: r.how === 2 ? 'exec of a setuid, setgid or file-capability binary' : `syscall ${r.syscallNr}`,
    });
  }

  private file(r: FileRecord): Event | null {
    const mem = r.kind === Kind.Open ? PROC_MEM.exec(r.path) : null;
    if (mem) {
      const target = Number(mem[1]);
      // Writing one's own memory through /proc is not injection.
      return target === r.pid ? null : this.inject(target, 'proc_mem_write', r);
    }
    const paths = this.ctx.paths;
    if (r.kind === Kind.Rename ? paths.ignored(r.path) && paths.ignored(r.newPath) : paths.ignored(r.path)) {
      return null;
    }
    const activityId = r.kind === Kind.Open ? (r.created ? 1 : 3) : r.kind === Kind.Unlink ? 4 : 5;
    const isDir = r.kind === Kind.Unlink && (r.openFlags & AT_REMOVEDIR) !== 0;
    return create(EventSchema, {
      classUid: 1001,
      activityId,
      timeMs: this.time(r.tsNs),
      severityId: 1,
      process: this.process(this.ctx.cache.lookup(r)),
      file: { path: r.path, name: basename(r.path), typeId: isDir ? 2 : 1 },
      ...(r.kind === Kind.Rename
        ? { fileResult: { path: r.newPath, name: basename(r.newPath), typeId: 1 } }
        : {}),
    });
  }
}

function factFields(f: ProcessFacts) {
  return {
    fileSha256: f.sha256,
    hashState: f.hashState,
    exeNoFile: f.exeNoFile,
    exeDeleted: f.exeDeleted,
    pidNs: BigInt(f.pidNs),
    mntNs: BigInt(f.mntNs),
    netNs: BigInt(f.netNs),
    cgroupPath: f.cgroupPath,
    containerId: f.containerId,
    containerRuntime: f.containerRuntime,
  };
}

function basename(p: string): string {
  const i = p.lastIndexOf('/');
  return i < 0 ? p : p.slice(i + 1);
}
