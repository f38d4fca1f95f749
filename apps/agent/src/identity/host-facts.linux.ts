import { readFileSync } from 'node:fs';
import { arch, hostname, networkInterfaces, release } from 'node:os';
import { type HostFacts, HostFactsSchema, create } from '@palisade/protocol';
import { AGENT_VERSION } from '../version.js';

function readTrim(path: string): string {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return '';
  }
}

function osVersion(): string {
  const text = readTrim('/etc/os-release');
  const m = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(text);
  return m?.[1] ?? 'Linux';
}

/** collectHostFacts describes this Linux host for registration and check-in. */
export function collectHostFacts(): HostFacts {
  const ips: string[] = [];
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (!a.internal) ips.push(a.address);
  }
  return create(HostFactsSchema, {
    hostname: hostname(),
    os: 'linux',
    osVersion: osVersion(),
    kernel: release(),
    arch: arch(),
    // /etc/machine-id survives agent reinstalls, so the server can recognise the machine.
    machineId: readTrim('/etc/machine-id') || readTrim('/var/lib/dbus/machine-id'),
    agentVersion: AGENT_VERSION,
    ipAddresses: ips,
  });
}
