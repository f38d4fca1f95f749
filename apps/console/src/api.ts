/** The console talks only to the public admin API, with its session cookie and CSRF token. */
export const API = '/api/v1';

let csrfToken = '';
let onLoggedOut: () => void = () => {};

/** setCsrf records the session's CSRF token (from login or GET /session). */
export function setCsrf(token: string): void {
  csrfToken = token;
}

/** onSessionEnd is called when the API answers 401 (the session ended or expired). */
export function onSessionEnd(fn: () => void): void {
  onLoggedOut = fn;
}

/** ApiError is an error answer of the API, with its code and message. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** api calls `/api/v1<path>`; state-changing calls carry X-CSRF-Token. Errors throw ApiError with the API's message. */
export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET') headers['x-csrf-token'] = csrfToken;
  const res = await fetch(API + path, {
    method,
    headers,
    credentials: 'same-origin',
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  let json: unknown = {};
  try {
    json = text ? JSON.parse(text) : {};
  } catch {
    json = { error: { code: 'bad_response', message: `the server answered ${res.status} without JSON` } };
  }
  if (!res.ok) {
    const e = (json as { error?: { code?: string; message?: string } }).error;
    if (res.status === 401 && path !== '/session') onLoggedOut();
    throw new ApiError(res.status, e?.code ?? 'error', e?.message ?? `${res.status} ${res.statusText}`);
  }
  return json as T;
}

/** qs builds a query string from the defined, non-empty values. */
export function qs(params: Record<string, string | number | boolean | undefined | null>): string {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params))
    if (v !== undefined && v !== null && v !== '') u.set(k, String(v));
  const s = u.toString();
  return s ? `?${s}` : '';
}

export type Role = 'admin' | 'analyst' | 'viewer';

export interface User {
  id: string;
  name: string;
  role: Role;
  must_change_password: boolean;
  status: string;
  last_login_at: string | null;
  locked_until: string | null;
  created_at: string;
}

export interface SessionInfo {
  user: User;
  csrf_token: string;
  expires_at: string;
}

export interface Agent {
  id: string;
  hostname: string;
  os: string;
  os_version: string;
  kernel: string;
  arch: string;
  machine_id: string;
  ip_addresses: string[];
  version: string;
  group: string | null;
  group_id: string;
  registered_at: string;
  last_seen_at: string | null;
  status: string;
  presence: 'online' | 'offline' | 'stale';
  connection: { state: string; since: string | null; remote_address: string | null; channel: string | null };
  policy_revision: number;
  group_policy_revision: number | null;
  policy_up_to_date: boolean;
  capabilities: { kind: string; active: boolean; source: string; reason: string }[];
  stats: Record<string, number | string>;
  health: Record<string, unknown>;
  isolation: {
    status: string;
    desired: { isolated: boolean; revision: number; reason: string; changed_at: string; by: string } | null;
    actual: { state: string; revision: number; reported_at?: string; error?: string } | null;
    [k: string]: unknown;
  };
  certificate: Record<string, unknown>;
}

export interface Command {
  id: string;
  agent_id: string;
  type: string;
  state: string;
  reason: string;
  actor: { id: string | null; name: string };
  created_at: string;
  finished_at: string | null;
  error: string | null;
  [k: string]: unknown;
}

export interface OcsfEvent {
  class_uid: number;
  class_name?: string;
  activity_id: number;
  activity_name?: string;
  time: number;
  metadata: { uid: string; [k: string]: unknown };
  device: { uid: string; hostname?: string; [k: string]: unknown };
  process?: OcsfProcess;
  actor?: { process?: OcsfProcess; user?: { name?: string } };
  [k: string]: unknown;
}

export interface OcsfProcess {
  pid: number;
  name?: string;
  cmd_line?: string;
  uid?: string;
  file?: { path?: string };
  user?: { name?: string };
  parent_process?: OcsfProcess;
  created_time?: number;
}

export interface Group {
  id: string;
  name: string;
  policy: {
    tier: string;
    channel: string;
    revision: number;
    maintenance_window?: unknown;
    [k: string]: unknown;
  };
  agent_count: number;
  [k: string]: unknown;
}

export interface Key {
  id: string;
  group_id: string;
  group?: string;
  prefix: string;
  created_at: string;
  expires_at: string;
  revoked_at: string | null;
  status: string;
  [k: string]: unknown;
}
