// `ndis rss hash`: Microsoft's verification vectors through the command, --json, --key, usage errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCommand } from './run.js';

const V4: [string, number, string, number, string, string][] = [
  ['66.9.149.187', 2794, '161.142.100.80', 1766, '0x323e8fc2', '0x51ccc178'],
  ['199.92.111.2', 14230, '65.69.140.83', 4739, '0xd718262a', '0xc626b0ea'],
  ['24.19.198.95', 12898, '12.22.207.184', 38024, '0xd2d0a5de', '0x5c2b394a'],
  ['38.27.205.30', 48228, '209.142.163.6', 2217, '0x82989176', '0xafc7327f'],
  ['153.39.163.191', 44251, '202.188.127.2', 1303, '0x5d1809c5', '0x10e828a2'],
];
const V6: [string, number, string, number, string, string][] = [
  ['3ffe:2501:200:1fff::7', 2794, '3ffe:2501:200:3::1', 1766, '0x2cc18cd5', '0x40207d3d'],
  ['3ffe:501:8::260:97ff:fe40:efab', 14230, 'ff02::1', 4739, '0x0f0c461c', '0xdde51bbf'],
  ['3ffe:1900:4545:3:200:f8ff:fe21:67cf', 44251, 'fe80::200:f8ff:fe21:67cf', 38024, '0x4b61e985', '0x02d1feef'],
];

void test('every verification vector: 2-tuple without ports, 4-tuple with them', () => {
  for (const [src, sport, dst, dport, only, ports] of [...V4, ...V6]) {
    const two = runCommand('rss', 'rssCommand', ['--src', src, '--dst', dst]);
    assert.equal(two.status, 0, two.stderr);
    assert.equal(two.stdout, `${only}\n`, `${src} -> ${dst}`);
    const four = runCommand('rss', 'rssCommand', ['--src', src, '--dst', dst, '--sport', String(sport), '--dport', String(dport)]);
    assert.equal(four.stdout, `${ports}\n`, `${src}:${sport} -> ${dst}:${dport}`);
  }
});

void test('--json prints the hash and the hex of the hashed bytes', () => {
  const r = runCommand('rss', 'rssCommand', ['--src', '66.9.149.187', '--dst', '161.142.100.80', '--sport', '2794', '--dport', '1766', '--json']);
  assert.equal(r.status, 0);
  assert.deepEqual(JSON.parse(r.stdout), { hash: '0x51ccc178', input: '420995bba18e64500aea06e6' });
});

void test('--key replaces the verification key (an all-zero key hashes to 0)', () => {
  const zero = runCommand('rss', 'rssCommand', ['--src', '10.0.0.1', '--dst', '10.0.0.2', '--key', '00'.repeat(40)]);
  assert.equal(zero.stdout, '0x00000000\n');
  const spelled = runCommand('rss', 'rssCommand', ['--src', '66.9.149.187', '--dst', '161.142.100.80', '--key', '6d:5a:56:da:25:5b:0e:c2:41:67:25:3d:43:a3:8f:b0:d0:ca:2b:cb:ae:7b:30:b4:77:cb:2d:a3:80:30:f2:0c:6a:42:b7:3b:be:ac:01:fa']);
  assert.equal(spelled.stdout, '0x323e8fc2\n');
});

void test('usage errors exit 2 with a message that says what is wrong', () => {
  const cases: [string[], RegExp][] = [
    [['--src', '10.0.0.1'], /--src and --dst are required/],
    [['--src', '10.0.0.1', '--dst', '2001:db8::1'], /must both be IPv4 or both IPv6/],
    [['--src', '10.0.0.1', '--dst', '10.0.0.300'], /not an IPv4 or IPv6 address/],
    [['--src', '10.0.0.1', '--dst', '10.0.0.2', '--sport', '80'], /both --sport and --dport/],
    [['--src', '10.0.0.1', '--dst', '10.0.0.2', '--sport', '80', '--dport', '70000'], /not a port number/],
    [['--src', '10.0.0.1', '--dst', '10.0.0.2', '--key', 'xyz'], /--key must be hex/],
    [['--src', '2001:db8::1', '--dst', '2001:db8::2', '--sport', '1', '--dport', '2', '--key', 'ab'.repeat(20)], /needs 40/],
    [['--bogus'], /Unknown option/],
  ];
  for (const [args, message] of cases) {
    const r = runCommand('rss', 'rssCommand', args);
    assert.equal(r.status, 2, args.join(' '));
    assert.match(r.stderr, message, args.join(' '));
    assert.equal(r.stdout, '');
  }
  const help = runCommand('rss', 'rssCommand', ['--help']);
  assert.equal(help.status, 0);
  assert.match(help.stdout, /usage: ndis rss hash/);
});
