// Test-only: the three-host lab the isolation tests run in. Everything happens inside network
// namespaces the lab creates; the rules are applied with `ip netns exec <endpoint>`.
import { LabNode, type LabHost, NetLab } from '@palisade/testkit';

/** IsolationLab is an endpoint, a backend and another host on one LAN, each running a LabNode. */
export interface IsolationLab {
  lab: NetLab;
  endpoint: LabHost;
  backend: LabHost;
  other: LabHost;
  /** Probes from inside the endpoint; it serves TCP 9100 and UDP 9101 (inbound checks). */
  en: LabNode;
  /** The backend serves TCP 7443 (a stand-in for the registration service). */
  bn: LabNode;
  /** The other host serves TCP 9000, UDP 9001 and DNS (UDP and TCP 53). */
  on: LabNode;
}

/** BACKEND_PORT, OTHER_TCP, ... are the lab's service ports. */
export const BACKEND_PORT = 7443;
export const OTHER_TCP = 9000;
export const OTHER_UDP = 9001;
export const ENDPOINT_TCP = 9100;
export const ENDPOINT_UDP = 9101;

/** startIsolationLab builds the lab; call lab.cleanup() in an after hook. */
export async function startIsolationLab(): Promise<IsolationLab> {
  const lab = new NetLab();
  try {
    const endpoint = await lab.host('endpoint');
    const backend = await lab.host('backend');
    const other = await lab.host('other');
    await lab.lan([endpoint, backend, other]);
    const [en, bn, on] = await Promise.all([
      LabNode.start(lab, endpoint, { tcp: ENDPOINT_TCP, udp: ENDPOINT_UDP }),
      LabNode.start(lab, backend, { tcp: BACKEND_PORT }),
      LabNode.start(lab, other, {
        tcp: OTHER_TCP,
        udp: OTHER_UDP,
        dns: 53,
        records: { 'other.lab.test': [other.v4, other.v6] },
      }),
    ]);
    return { lab, endpoint, backend, other, en, bn, on };
  } catch (err) {
    await lab.cleanup();
    throw err;
  }
}
