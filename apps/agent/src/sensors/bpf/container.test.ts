import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { containerOf } from './container.js';

const ID = `${'a'.repeat(36)}0123456789abcdef0123456789ab`;

describe('containerOf', () => {
  it('finds the container id in each runtime shape', () => {
    assert.deepEqual(containerOf(`/system.slice/docker-${ID}.scope`), { id: ID, runtime: 'docker' });
    assert.deepEqual(containerOf(`/docker/${ID}`), { id: ID, runtime: 'docker' });
    assert.deepEqual(containerOf(`/system.slice/cri-containerd-${ID}.scope`), {
      id: ID,
      runtime: 'containerd',
    });
    assert.deepEqual(containerOf(`/machine.slice/libpod-${ID}.scope/container`), {
      id: ID,
      runtime: 'podman',
    });
    assert.deepEqual(containerOf(`/crio-${ID}.scope`), { id: ID, runtime: 'cri-o' });
    assert.deepEqual(
      containerOf(
        `/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod12345678_1234_1234_1234_123456789abc.slice/cri-containerd-${ID}.scope`,
      ),
      { id: ID, runtime: 'kubernetes', podUid: '12345678-1234-1234-1234-123456789abc' },
    );
    assert.deepEqual(containerOf(`/kubepods/burstable/pod12345678-1234-1234-1234-123456789abc/${ID}`), {
      id: ID,
      runtime: 'kubernetes',
      podUid: '12345678-1234-1234-1234-123456789abc',
    });
  });

  it('finds none in host cgroups or ids of the wrong shape', () => {
    assert.equal(containerOf('/'), null);
    assert.equal(containerOf('/user.slice/user-0.slice/session-3.scope'), null);
    assert.equal(containerOf('/system.slice/docker.service'), null);
    assert.equal(containerOf(`/system.slice/docker-${ID.slice(1)}.scope`), null);
    assert.equal(containerOf(`/system.slice/crio-conmon-${ID}.scope`), null);
  });
});
