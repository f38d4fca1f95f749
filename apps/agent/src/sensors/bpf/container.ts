/**
 * containerOf finds the container a cgroup v2 path names, from the shapes container runtimes
 * give their cgroups:
 * - Docker:      /system.slice/docker-<64 hex>.scope, /docker/<64 hex>
 * - containerd:  /system.slice/containerd-<id>.scope ... cri-containerd-<64 hex>.scope
 * - CRI-O:       .../crio-<64 hex>.scope (crio-conmon-<id> is the monitor, not the container)
 * - Podman:      .../libpod-<64 hex>.scope, /machine.slice/libpod-<id>.scope
 * - Kubernetes:  /kubepods.slice/kubepods-<qos>.slice/kubepods-<qos>-pod<uid>.slice/<runtime>-<id>.scope,
 *                or /kubepods/<qos>/pod<uid>/<64 hex> (cgroupfs driver)
 * The innermost match wins. Returns null when the path names no container.
 */
export interface ContainerRef {
  id: string;
  runtime: 'docker' | 'containerd' | 'cri-o' | 'podman' | 'kubernetes';
  /** Kubernetes: the pod uid the path names, if any. */
  podUid?: string;
}

const PREFIXED = /^(docker|cri-containerd|containerd|crio|libpod)-([0-9a-f]{64})(?:\.scope)?$/;
const BARE_ID = /^[0-9a-f]{64}$/;
const POD = /pod([0-9a-f]{8}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{12})(?:\.slice)?$/;

const RUNTIMES: Record<string, ContainerRef['runtime']> = {
  docker: 'docker',
  'cri-containerd': 'containerd',
  containerd: 'containerd',
  crio: 'cri-o',
  libpod: 'podman',
};

export function containerOf(cgroupPath: string): ContainerRef | null {
  const parts = cgroupPath.split('/').filter(Boolean);
  let podUid: string | undefined;
  let kube = false;
  let found: ContainerRef | null = null;
  for (const [i, p] of parts.entries()) {
    if (p.startsWith('kubepods')) kube = true;
    const pod = POD.exec(p);
    if (pod) podUid = pod[1]!.replace(/_/g, '-');
    const m = PREFIXED.exec(p);
    if (m) found = { id: m[2]!, runtime: RUNTIMES[m[1]!]! };
    else if (BARE_ID.test(p)) {
      const parent = parts[i - 1] ?? '';
      found = { id: p, runtime: parent === 'docker' ? 'docker' : kube ? 'kubernetes' : 'containerd' };
    }
  }
  if (!found) return null;
  if (kube) return { id: found.id, runtime: 'kubernetes', ...(podUid ? { podUid } : {}) };
  return found;
}
