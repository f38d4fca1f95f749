import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NFT_TABLE, canonicalAddress, renderRemoval, renderRuleset } from './nft-ruleset.js';

test('only plain IP addresses reach the ruleset, in canonical form', () => {
  assert.deepEqual(canonicalAddress('10.0.0.1'), { address: '10.0.0.1', family: 4 });
  assert.deepEqual(canonicalAddress('[FD77:0:0::2]'), { address: 'fd77::2', family: 6 });
  assert.deepEqual(canonicalAddress('::ffff:10.0.0.9'), { address: '10.0.0.9', family: 4 });
  for (const bad of [
    'backend.example',
    '10.0.0.1; flush ruleset',
    '10.0.0.0/8',
    'fe80::1%eth0',
    '',
    '1.2.3',
    '"x"',
  ]) {
    assert.throws(() => canonicalAddress(bad), /not an IP address/, bad);
  }
});

test('the ruleset allows exactly the backend, DNS, DHCP and neighbour discovery, in one table, created atomically', () => {
  const text = renderRuleset(
    [
      { address: '10.77.0.2', family: 4, port: 7443 },
      { address: '10.77.0.2', family: 4, port: 7444 },
      { address: 'fd77::2', family: 6, port: 7443 },
      { address: '10.77.0.2', family: 4, port: 7443 }, // duplicates collapse
    ],
    7,
  );
  const lines = text.split('\n');
  // Create-if-missing, delete, define: one transaction that replaces whatever was there.
  assert.deepEqual(lines.slice(0, 3), [
    `table inet ${NFT_TABLE} {}`,
    `delete table inet ${NFT_TABLE}`,
    `table inet ${NFT_TABLE} {`,
  ]);
  assert.match(text, /elements = \{ 10\.77\.0\.2 \. 7443, 10\.77\.0\.2 \. 7444 \}/);
  assert.match(text, /elements = \{ fd77::2 \. 7443 \}/);
  assert.match(text, /revision 7/);
  // Every table statement names our table only: nothing else is ever touched.
  for (const l of lines.filter((x) => /\btable\b/.test(x) && !x.includes('comment')))
    assert.match(l, new RegExp(NFT_TABLE));
  // No rule accepts by connection state alone: connections from before isolation get no way through.
  assert.doesNotMatch(text, /flush ruleset|^\s*ct state [a-z,\s]+ accept$/m);
  for (const rule of [
    'policy drop',
    'iif "lo" accept',
    'oif "lo" accept',
    'ip daddr . tcp dport @backend4 accept',
    'ip6 saddr . tcp sport @backend6 accept',
    'meta l4proto { tcp, udp } th dport 53 accept',
    'meta l4proto { tcp, udp } th sport 53 ct state established accept',
    'udp sport 68 udp dport 67 accept',
    'udp sport 546 udp dport 547 accept',
    'ip6 hoplimit 255 accept',
    'meta l4proto tcp reject with tcp reset',
  ]) {
    assert.ok(text.includes(rule), `missing: ${rule}`);
  }
  // The forward chain lets nothing through (containers and routed traffic are isolated too).
  assert.match(
    text,
    /chain forward \{\n\t\ttype filter hook forward priority filter - 50; policy drop;\n\t\}/,
  );
});

test('an empty address family has an empty set; bad ports and revisions are refused', () => {
  const text = renderRuleset([{ address: '192.0.2.1', family: 4, port: 443 }], 1);
  assert.match(text, /set backend6 \{\n\t\ttype ipv6_addr \. inet_service\n\t\}/);
  assert.throws(() => renderRuleset([{ address: '192.0.2.1', family: 4, port: 0 }], 1), /port/);
  assert.throws(() => renderRuleset([{ address: '192.0.2.1', family: 4, port: 70000 }], 1), /port/);
  assert.throws(() => renderRuleset([{ address: 'x; drop', family: 4, port: 1 }], 1), /not an IP address/);
  assert.throws(() => renderRuleset([], -1), /revision/);
  assert.equal(renderRemoval(), `table inet ${NFT_TABLE} {}\ndelete table inet ${NFT_TABLE}\n`);
});
