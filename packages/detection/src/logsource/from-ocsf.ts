import {
  create,
  type Event,
  EventSchema,
  type Process,
  ProcessSchema,
  type User,
  UserSchema,
} from '@palisade/protocol';
import type { EvalContext } from './context.js';

/** OcsfInputError names the attribute of an OCSF event that could not be read. */
export class OcsfInputError extends Error {}

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

class Reader {
  constructor(private readonly path: string) {}
  obj(o: Obj, k: string): Obj | undefined {
    const v = o[k];
    if (v === undefined || v === null) return undefined;
    if (!isObj(v)) throw new OcsfInputError(`${this.path}${k} must be an object`);
    return v;
  }
  str(o: Obj | undefined, k: string): string {
    const v = o?.[k];
    if (v === undefined || v === null) return '';
    if (typeof v !== 'string') throw new OcsfInputError(`${this.path}${k} must be a string`);
    return v;
  }
  num(o: Obj | undefined, k: string): number {
    const v = o?.[k];
    if (v === undefined || v === null) return 0;
    if (typeof v === 'string' && /^\d+$/.test(v)) return Number(v);
    if (typeof v !== 'number' || !Number.isFinite(v))
      throw new OcsfInputError(`${this.path}${k} must be a number`);
    return v;
  }
  at(k: string): Reader {
    return new Reader(`${this.path}${k}.`);
  }
}

function user(r: Reader, o: Obj | undefined, unmapped: Obj, prefix: string): User | undefined {
  if (!o) return undefined;
  return create(UserSchema, {
    uid: r.str(o, 'uid'),
    name: r.str(o, 'name'),
    gid: Number(unmapped[`${prefix}.gid`] ?? 0) || 0,
    euid: Number(unmapped[`${prefix}.euid`] ?? (/^\d+$/.test(r.str(o, 'uid')) ? r.str(o, 'uid') : 0)) || 0,
    egid: Number(unmapped[`${prefix}.egid`] ?? 0) || 0,
  });
}

function processOf(
  r: Reader,
  o: Obj | undefined,
  unmapped: Obj,
  prefix: string,
  depth = 0,
): Process | undefined {
  if (!o) return undefined;
  const session = r.obj(o, 'session');
  const argv = unmapped[`${prefix}.argv`];
  if (argv !== undefined && (!Array.isArray(argv) || !argv.every((a) => typeof a === 'string'))) {
    throw new OcsfInputError(`unmapped.${prefix}.argv must be a list of strings`);
  }
  const parent = depth === 0 ? r.obj(o, 'parent_process') : undefined;
  const pr = r.at('parent_process');
  return create(ProcessSchema, {
    pid: r.num(o, 'pid'),
    tid: r.num(o, 'tid'),
    uid: r.str(o, 'uid'),
    name: r.str(o, 'name'),
    path: r.str(o, 'path'),
    cmdLine: r.str(o, 'cmd_line'),
    argv: (argv as string[] | undefined) ?? [],
    argvTruncated: unmapped[`${prefix}.argv_truncated`] === true,
    cwd: r.str(o, 'working_directory'),
    createdTimeMs: BigInt(Math.trunc(r.num(o, 'created_time'))),
    ...(o.user ? { user: user(r.at('user'), r.obj(o, 'user'), unmapped, `${prefix}.user`) } : {}),
    ppid: Number(unmapped[`${prefix}.ppid`] ?? 0) || (parent ? pr.num(parent, 'pid') : 0),
    cgroupId: BigInt(String(unmapped[`${prefix}.cgroup_id`] ?? '0').replace(/\D/g, '') || '0'),
    sessionId: session ? Number(r.at('session').str(session, 'uid') || 0) || 0 : 0,
    tty: session ? r.at('session').str(session, 'terminal') : '',
    ...(parent && Object.keys(parent).some((k) => k !== 'pid')
      ? {
          parent: create(ProcessSchema, {
            pid: pr.num(parent, 'pid'),
            uid: pr.str(parent, 'uid'),
            name: pr.str(parent, 'name'),
            path: pr.str(parent, 'path'),
            cmdLine: pr.str(parent, 'cmd_line'),
          }),
        }
      : {}),
  });
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * fromOcsf reads an OCSF event as Palisade renders it (toOcsf, `events search --json`) back
 * into a wire Event and the host it came from, so that rules evaluate it exactly as they would
 * the original. It is toOcsf's inverse: a test renders events of every class both ways.
 */
export function fromOcsf(json: unknown): { event: Event; ctx: EvalContext } {
  if (!isObj(json)) throw new OcsfInputError('an OCSF event must be a JSON object');
  const r = new Reader('');
  const classUid = r.num(json, 'class_uid');
  if (!classUid) throw new OcsfInputError('class_uid is missing');
  const unmapped = r.obj(json, 'unmapped') ?? {};
  const actor = r.obj(json, 'actor');
  const ar = r.at('actor');
  const isProcessClass = classUid === 1007;
  const procJson = isProcessClass ? r.obj(json, 'process') : actor ? ar.obj(actor, 'process') : undefined;
  const process = processOf(
    isProcessClass ? r.at('process') : ar.at('process'),
    procJson,
    unmapped,
    isProcessClass ? 'process' : 'actor.process',
  );
  let actorProcess: Process | undefined;
  let actorUser: User | undefined;
  if (isProcessClass && actor) {
    const ap = ar.obj(actor, 'process');
    const implied = procJson && (sameJson(ap, procJson.parent_process) || sameJson(ap, procJson));
    if (ap && !implied) actorProcess = processOf(ar.at('process'), ap, {}, 'actor.process', 1);
  }
  const au = actor ? ar.obj(actor, 'user') : undefined;
  if (au && !sameJson(au, procJson?.user)) actorUser = user(ar.at('user'), au, {}, 'actor.user');
  const ep = (k: string) => {
    const o = r.obj(json, k);
    const er = r.at(k);
    return o ? { ip: er.str(o, 'ip'), port: er.num(o, 'port'), hostname: er.str(o, 'hostname') } : undefined;
  };
  const file = (k: string) => {
    const o = r.obj(json, k);
    const fr = r.at(k);
    return o
      ? {
          path: fr.str(o, 'path'),
          name: fr.str(o, 'name'),
          typeId: fr.num(o, 'type_id'),
          size: BigInt(Math.trunc(fr.num(o, 'size'))),
        }
      : undefined;
  };
  const ci = r.obj(json, 'connection_info');
  const cr = r.at('connection_info');
  const tr = r.obj(json, 'traffic');
  const q = r.obj(json, 'query');
  const qr = r.at('query');
  const svc = r.obj(json, 'service');
  const target = classUid === 3002 ? r.obj(json, 'user') : undefined;
  const isRemote = json.is_remote;
  if (isRemote !== undefined && typeof isRemote !== 'boolean')
    throw new OcsfInputError('is_remote must be a boolean');
  const exitCode = json.exit_code;
  const command = unmapped.command;
  const event = create(EventSchema, {
    classUid,
    activityId: r.num(json, 'activity_id'),
    timeMs: BigInt(Math.trunc(r.num(json, 'time'))),
    severityId: r.num(json, 'severity_id'),
    statusId: r.num(json, 'status_id'),
    statusDetail: r.str(json, 'status_detail'),
    message: r.str(json, 'message'),
    rawData: r.str(json, 'raw_data'),
    ...(process ? { process } : {}),
    ...(actorProcess ? { actorProcess } : {}),
    ...(actorUser ? { actorUser } : {}),
    ...(exitCode !== undefined ? { exitCode: r.num(json, 'exit_code'), hasExitCode: true } : {}),
    exitSignal: Number(unmapped.exit_signal ?? 0) || 0,
    ...(file('file') ? { file: file('file') } : {}),
    ...(file('file_result') ? { fileResult: file('file_result') } : {}),
    ...(ep('src_endpoint') ? { srcEndpoint: ep('src_endpoint') } : {}),
    ...(ep('dst_endpoint') ? { dstEndpoint: ep('dst_endpoint') } : {}),
    ...(ci
      ? {
          connectionInfo: {
            protocolNum: cr.num(ci, 'protocol_num'),
            protocolName: cr.str(ci, 'protocol_name'),
            directionId: cr.num(ci, 'direction_id'),
            protocolVerId: cr.num(ci, 'protocol_ver_id'),
          },
        }
      : {}),
    ...(tr
      ? {
          traffic: {
            bytesIn: BigInt(Math.trunc(r.at('traffic').num(tr, 'bytes_in'))),
            bytesOut: BigInt(Math.trunc(r.at('traffic').num(tr, 'bytes_out'))),
          },
        }
      : {}),
    ...(q
      ? {
          query: {
            hostname: qr.str(q, 'hostname'),
            type: qr.str(q, 'type'),
            class: qr.str(q, 'class'),
            packetUid: qr.num(q, 'packet_uid'),
          },
        }
      : {}),
    ...(target
      ? {
          user: create(UserSchema, {
            uid: r.at('user').str(target, 'uid'),
            name: r.at('user').str(target, 'name'),
          }),
        }
      : {}),
    authProtocol: r.str(json, 'auth_protocol'),
    logonTypeId: r.num(json, 'logon_type_id'),
    serviceName: svc ? r.at('service').str(svc, 'name') : '',
    isRemote: isRemote === true,
    command: typeof command === 'string' ? command : '',
  });
  const device = r.obj(json, 'device');
  const ctx: EvalContext = {};
  if (device) {
    const dr = r.at('device');
    if (dr.str(device, 'uid')) ctx.agentId = dr.str(device, 'uid');
    if (dr.str(device, 'hostname')) ctx.hostname = dr.str(device, 'hostname');
  }
  return { event, ctx };
}
