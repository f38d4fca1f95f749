import {
  AuthProvenance,
  create,
  type Event,
  EventSchema,
  NetworkEndpointSchema,
  ProcessSchema,
  UserSchema,
} from '@palisade/protocol';
import type { AuthRecord } from './auth-record.js';

/** AUTH_CLASS_UID is OCSF Authentication. */
export const AUTH_CLASS_UID = 3002;

/** AuthOrigin says where a record came from: its time, the program's pid and name, the raw text. */
export interface AuthOrigin {
  timeMs: number;
  pid: number;
  program: string;
  /** The original log line (or a text rendering of a login record); detection rules match it. */
  raw: string;
  /** Whether the program the record speaks for is known to have written it (ADR 0018). */
  provenance: AuthProvenance;
  /** Why it is not verified, when something is known (journal records). */
  provenanceWhy?: string;
  /** The sender's executable, when the journal says. */
  path?: string;
  /** Forged records: the user who really sent it (the actor of the forgery). */
  sender?: { uid: number; name: string };
}

function summary(r: AuthRecord): string {
  const what = r.activity === 2 ? 'logoff' : r.activity === 7 ? 'account switch' : 'logon';
  const outcome = r.activity === 2 ? '' : r.success ? ' succeeded' : ' failed';
  const who = r.actorUser ? `${r.actorUser} -> ${r.user}` : r.user;
  const from = r.srcIp ? ` from ${r.srcIp}` : '';
  return `${r.service} ${what}${outcome}: ${who}${from}`;
}

/** uint32 keeps a number the wire can carry: anything else (negative, huge, NaN) becomes 0. */
function uint32(n: number | undefined, max = 0xffffffff): number {
  return n !== undefined && Number.isInteger(n) && n >= 0 && n <= max ? n : 0;
}

/**
 * toAuthEvent renders an AuthRecord as an OCSF Authentication (3002) wire event: `user` is the
 * target account, `actor_user` the invoking user, `process` the program that logged it.
 */
export function toAuthEvent(r: AuthRecord, o: AuthOrigin): Event {
  if (o.provenance === AuthProvenance.FORGED) return toForgedEvent(r, o);
  const why = o.provenanceWhy ? `unverified: ${o.provenanceWhy}` : '';
  return create(EventSchema, {
    classUid: AUTH_CLASS_UID,
    activityId: r.activity,
    // Inputs come from files anyone who can log may influence: every number is range-checked so
    // the event always encodes (a bad one would otherwise fail the whole batch later).
    timeMs: BigInt(Number.isFinite(o.timeMs) ? Math.trunc(o.timeMs) : Date.now()),
    severityId: 1,
    statusId: r.activity === 2 ? 0 : r.success ? 1 : 2,
    statusDetail: [r.detail, why].filter(Boolean).join('; '),
    message: summary(r),
    rawData: o.raw,
    process: create(ProcessSchema, {
      pid: uint32(o.pid),
      name: o.program,
      path: o.path ?? '',
      tty: r.tty ?? '',
    }),
    ...(r.actorUser || r.actorUid
      ? { actorUser: create(UserSchema, { name: r.actorUser ?? '', uid: r.actorUid ?? '' }) }
      : {}),
    user: create(UserSchema, { name: r.user }),
    ...(r.srcIp
      ? { srcEndpoint: create(NetworkEndpointSchema, { ip: r.srcIp, port: uint32(r.srcPort, 65535) }) }
      : {}),
    authProtocol: r.method ?? '',
    logonTypeId: r.logonType ?? 0,
    serviceName: r.service,
    isRemote: r.remote,
    command: r.command ?? '',
    authProvenance: o.provenance,
  });
}

/**
 * toForgedEvent renders a record an unprivileged process wrote in the name of an authentication
 * program. It is kept (a local user forging logins is itself worth a look) but cannot pass for
 * the authentication it claims: status Other (99), not Success or Failure, so rules on logons,
 * failures and brute force do not count it; severity Medium; actor_user and process are the real
 * sender; status_detail and message say what it claimed. The account and address it names stay
 * in `user` and `src_endpoint` for searching.
 */
function toForgedEvent(r: AuthRecord, o: AuthOrigin): Event {
  const claims = r.activity === 2 ? 'a logoff' : r.success ? 'success' : 'failure';
  return create(EventSchema, {
    classUid: AUTH_CLASS_UID,
    activityId: r.activity,
    timeMs: BigInt(Number.isFinite(o.timeMs) ? Math.trunc(o.timeMs) : Date.now()),
    severityId: 3,
    statusId: 99,
    statusDetail: `forged: claims ${claims}; ${o.provenanceWhy ?? 'sent by an unprivileged process'}`,
    message: `forged ${r.service} record: ${summary(r)}`,
    rawData: o.raw,
    process: create(ProcessSchema, { pid: uint32(o.pid), name: o.program, path: o.path ?? '' }),
    ...(o.sender
      ? { actorUser: create(UserSchema, { name: o.sender.name, uid: String(o.sender.uid) }) }
      : {}),
    user: create(UserSchema, { name: r.user }),
    ...(r.srcIp
      ? { srcEndpoint: create(NetworkEndpointSchema, { ip: r.srcIp, port: uint32(r.srcPort, 65535) }) }
      : {}),
    authProtocol: r.method ?? '',
    logonTypeId: r.logonType ?? 0,
    serviceName: r.service,
    isRemote: r.remote,
    command: r.command ?? '',
    authProvenance: AuthProvenance.FORGED,
  });
}
