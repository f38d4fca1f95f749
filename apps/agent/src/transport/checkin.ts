import {
  type AgentSelf,
  type Capability,
  type CheckInResponse,
  CheckInRequestSchema,
  CheckInResponseSchema,
  PROTOCOL_VERSION,
  type IsolationStatus,
  type SensorStats,
  create,
  fromBinary,
  toBinary,
} from '@palisade/protocol';
import { collectHostFacts } from '../identity/host-facts.js';
import { type TlsMaterial, postProtobuf } from './https-client.js';

/** CheckInReport is what the agent tells the server at each check-in. */
export interface CheckInReport {
  policyRevision: bigint;
  capabilities: Capability[];
  stats: SensorStats;
  /** sha256 of each CA the agent pins. */
  pinnedCaSha256?: string[];
  isolation?: IsolationStatus;
  self?: AgentSelf;
}

/**
 * checkIn POSTs a CheckInRequest to `<registrationUrl>/v1/checkin` over mutual TLS and returns the
 * server's answer (policy, endpoints, heartbeat interval). A refused credential is an HttpError 401.
 */
export async function checkIn(
  registrationUrl: string,
  tls: TlsMaterial,
  report: CheckInReport,
  timeoutMs = 10_000,
  freshConnection = false,
): Promise<CheckInResponse> {
  const req = create(CheckInRequestSchema, {
    protocolVersion: PROTOCOL_VERSION,
    host: collectHostFacts(),
    policyRevision: report.policyRevision,
    capabilities: report.capabilities,
    stats: report.stats,
    pinnedCaSha256: report.pinnedCaSha256 ?? [],
    ...(report.isolation ? { isolation: report.isolation } : {}),
    ...(report.self ? { self: report.self } : {}),
  });
  const url = `${registrationUrl.replace(/\/+$/, '')}/v1/checkin`;
  const body = await postProtobuf(url, toBinary(CheckInRequestSchema, req), {
    tls,
    timeoutMs,
    freshConnection,
  });
  return fromBinary(CheckInResponseSchema, body);
}
