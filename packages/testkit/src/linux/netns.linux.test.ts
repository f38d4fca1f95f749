import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { test } from 'node:test';
import { LabNode } from './lab-node-client.linux.js';
import { NETNS_PREFIX, NetLab } from './netns.linux.js';

function labNamespaces(): string[] {
  try {
    return readdirSync('/run/netns').filter((n) => n.startsWith(`${NETNS_PREFIX}${process.pid}-`));
  } catch {
    return [];
  }
}

test('NetLab (root): two hosts on a bridged LAN talk TCP, UDP, DNS and ICMP over IPv4 and IPv6; cleanup removes every namespace', async () => {
  const lab = new NetLab();
  try {
    const a = await lab.host('a');
    const b = await lab.host('b');
    await lab.lan([a, b]);
    await LabNode.start(lab, b, {
      tcp: 9000,
      udp: 9001,
      dns: 53,
      records: { 'b.lab.test': [b.v4, b.v6] },
    });
    const na = await LabNode.start(lab, a);
    for (const addr of [b.v4, b.v6]) {
      assert.equal((await na.tcp(addr, 9000)).ok, true, `tcp to ${addr}`);
      assert.equal((await na.udp(addr, 9001)).ok, true, `udp to ${addr}`);
      assert.equal((await na.dns(addr, 'b.lab.test', 'A')).answers, 1, `dns A via ${addr}`);
      assert.equal(
        (await na.dns(addr, 'b.lab.test', 'AAAA', true)).answers,
        1,
        `dns AAAA over tcp via ${addr}`,
      );
      assert.equal((await na.tcp(addr, 9999)).ok, false, 'nothing listens on 9999');
      assert.equal((await lab.exec(a, ['ping', '-c', '1', '-W', '2', addr])).code, 0, `ping ${addr}`);
    }
    // /etc/netns/<ns>/resolv.conf is mounted over /etc/resolv.conf for processes started after it.
    lab.etcFile(a, 'resolv.conf', `nameserver ${b.v4}\n`);
    const fresh = await LabNode.start(lab, a);
    assert.deepEqual(((await fresh.lookup('b.lab.test')).addresses as string[]).sort(), [b.v4, b.v6].sort());
    assert.deepEqual(await lab.nftTables(a), []);
    assert.equal(labNamespaces().length, 3, 'two hosts and the switch');
  } finally {
    await lab.cleanup();
  }
  assert.deepEqual(labNamespaces(), []);
});
