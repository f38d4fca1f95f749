import { PalisadeError } from '@palisade/common';
import type { HostFacts } from '@palisade/protocol';
import type { HostFactsRecord } from '@palisade/storage';

const MAX_FIELD = 256;
const MAX_IPS = 64;

/** Printable text without control characters: these strings end up in logs and terminals. */
const PRINTABLE = /^[^\p{Cc}]*$/u;

function field(name: string, value: string, required: boolean): string {
  if (required && value.trim() === '') {
    throw new PalisadeError('validation_failed', `host.${name} is required`);
  }
  if (value.length > MAX_FIELD) {
    throw new PalisadeError('validation_failed', `host.${name} is longer than ${MAX_FIELD} characters`);
  }
  if (!PRINTABLE.test(value)) {
    throw new PalisadeError('validation_failed', `host.${name} contains control characters`);
  }
  return value;
}

/**
 * validateHostFacts checks the facts an agent reports about its host (present, bounded, printable)
 * and converts them to the stored record. Hostname, OS, kernel, arch, machine id and agent version
 * are required.
 */
export function validateHostFacts(h: HostFacts | undefined): HostFactsRecord {
  if (!h) throw new PalisadeError('validation_failed', 'host facts are missing');
  if (h.ipAddresses.length > MAX_IPS) {
    throw new PalisadeError('validation_failed', `host.ip_addresses has more than ${MAX_IPS} entries`);
  }
  return {
    hostname: field('hostname', h.hostname, true),
    os: field('os', h.os, true),
    osVersion: field('os_version', h.osVersion, false),
    kernel: field('kernel', h.kernel, true),
    arch: field('arch', h.arch, true),
    machineId: field('machine_id', h.machineId, true),
    agentVersion: field('agent_version', h.agentVersion, true),
    ipAddresses: h.ipAddresses.map((ip, i) => field(`ip_addresses[${i}]`, ip, true)),
  };
}
