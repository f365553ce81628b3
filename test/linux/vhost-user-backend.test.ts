/**
 * firmware/platform/vhost-user/vhost_user_backend.c without UML: a C frontend (fixtures/
 * vhost-user-conversation.c) speaks the protocol as UML 6.1 does, plus the mistakes UML never
 * makes, and both sides print what they saw.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const folder = mkdtempSync(join(tmpdir(), 'xsr-vhost-user-test-'));
let lines: string[] = [];

beforeAll(() => {
  const program = join(folder, 'conversation');
  const build = spawnSync('gcc', [
    '-O2', '-Wall', '-Wextra', '-Werror', `-I${join(root, 'firmware/platform/vhost-user')}`, '-o', program,
    join(root, 'test/linux/fixtures/vhost-user-conversation.c'), join(root, 'firmware/platform/vhost-user/vhost_user_backend.c'),
  ], { encoding: 'utf8' });
  expect(build.status, build.stderr).toBe(0);
  const run = spawnSync(program, [join(folder, 'vhost-user.sock')], { encoding: 'utf8', timeout: 20_000 });
  lines = run.stdout.split('\n');
  expect(run.status, `${run.stdout}\n${run.stderr}`).toBe(0);
}, 60_000);

afterAll(() => rmSync(folder, { recursive: true, force: true }));

describe('vhost-user backend', () => {
  it('offers NS | PROTOCOL_FEATURES | VERSION_1 and protocol features REPLY_ACK | SLAVE_REQ only', () => {
    expect(lines).toContain('frontend: GET_FEATURES -> 0x140000001 (8 bytes)');
    expect(lines).toContain('frontend: GET_PROTOCOL_FEATURES -> 0x28 (8 bytes)');
  });

  it('acknowledges requests that ask for it once REPLY_ACK is negotiated', () => {
    for (const request of ['SET_PROTOCOL_FEATURES', 'SET_SLAVE_REQ_FD', 'SET_FEATURES', 'SET_MEM_TABLE', 'SET_VRING_ADDR vring 0', 'SET_VRING_KICK vring 1']) {
      expect(lines).toContain(`frontend: ${request} -> ack 0`);
    }
  });

  it('maps the memory table at its file offset and translates guest-physical addresses with bounds checks', () => {
    expect(lines).toContain('backend: marker at GPA 0x100010 is 0x5a17c0de');
    expect(lines).toContain('backend: translate last byte ok');
    expect(lines).toContain('backend: translate across the end refused');
    expect(lines).toContain('backend: translate below the start refused');
    expect(lines).toContain('backend: translate huge length refused');
  });

  it('reports ring addresses as guest-physical, translated from the frontend user addresses', () => {
    expect(lines).toContain('backend: vring 0 num 256 desc 0x108000 avail 0x109000 used 0x10a000');
    expect(lines).toContain('backend: vring 1 num 256 desc 0x10c000 avail 0x10d000 used 0x10e000');
  });

  it('refuses rings outside the memory table, bad vring sizes and vring indexes, with EFAULT/EINVAL', () => {
    expect(lines).toContain('frontend: SET_VRING_ADDR vring 1 past the end -> ack 1');
    expect(lines).toContain('frontend: SET_VRING_ADDR vring 1 below the table -> ack 1');
    expect(lines.some((line) => line.startsWith('backend: log EFAULT: vring 1 addresses') && line.endsWith('fall outside the memory table; refused'))).toBe(true);
    expect(lines).toContain('frontend: SET_VRING_NUM vring 0 num 300 -> ack 1');
    expect(lines).toContain('frontend: SET_VRING_NUM vring 5 -> ack 1');
    expect(lines).toContain('frontend: unknown request 99 -> ack 1');
  });

  it('goes live on the first kick after both vrings are enabled, then delivers that kick; notify writes the call fd', () => {
    const ready = lines.indexOf('backend: ready features 0x140000001 base 0x100000 size 0x100000');
    const kick = lines.indexOf('backend: kick 0');
    const enabled = lines.indexOf('frontend: SET_VRING_ENABLE vring 1 -> ack 0');
    expect(ready).toBeGreaterThan(enabled);
    expect(kick).toBeGreaterThan(ready);
    expect(lines).toContain('backend: notify vring 1 -> 0');
    expect(lines).toContain('frontend: call on vring 1: 1');
  });

  it('resets when a vring is disabled and serves the next frontend after a disconnect', () => {
    expect(lines).toContain('backend: reset (vring disabled (driver removed or device reset))');
    expect(lines).toContain('frontend: GET_FEATURES after reconnecting -> 0x140000001 (8 bytes)');
    expect(lines).toContain('frontend: done');
  });
});
