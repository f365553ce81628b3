/**
 * Issue 13's last item: with a debug image (tools/build-firmware.ts option debug), an exception
 * thrown in an app's onReadable on XS is reported with the TypeScript file:line of the throw (and
 * of the runtime's frames), on posix and on qemu. A release image reports no line (its byte code
 * keeps no line tables): checked too, so the debug image is what makes the difference.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { openChannel, request } from '../../host-sim/channels.ts';
import { openSession, type Session } from '../../host-sim/session.ts';
import { buildAppFirmware } from '../../launch/firmware-image.ts';
import { until } from './harness.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const app = join(root, 'test/fixtures/apps/debug-probe/main.ts');
const THROW_LINE = readFileSync(app, 'utf8').split('\n').findIndex((line) => line.includes('// THROW-LINE')) + 1;
const where = `test/fixtures/apps/debug-probe/main.ts:${THROW_LINE}`;

let session: Session | null = null;
afterEach(async () => {
  await session?.close();
  session = null;
});

async function throwOnce(target: 'posix' | 'qemu', debug: boolean): Promise<string> {
  const image = await buildAppFirmware(target === 'qemu' ? 'qemu-mps2' : 'posix', app, false, debug);
  session = await openSession({ target, app, firmware: image.output });
  expect(new TextDecoder().decode(await request(session.host, 'debug-probe', 'hi'))).toBe('echo hi #1');
  const channel = await openChannel(session.host, 'debug-probe');
  await channel.send('throw');
  await until(() => session!.console.some((line) => line.includes('app exception in onReadable')), 'the app exception report');
  await until(() => session!.console.some((line) => line.includes('at service')) || !debug, 'the stack', 5000).catch(() => undefined);
  return session.console.join('\n');
}

describe.each(['posix', 'qemu'] as const)('app exception file:line on %s', (target) => {
  it('a debug image reports the throw at its TypeScript file:line', async () => {
    const console = await throwOnce(target, true);
    expect(console).toContain(`RangeError: probe asked to throw after 2 messages`);
    expect(console).toContain(`at onReadable (${where})`);
    expect(console).toMatch(/at \w+ \(firmware\/runtime\/rpmsg\/[\w-]+\.ts:\d+\)/);
  }, 240_000);

  it('a release image has no line tables: no file:line', async () => {
    const console = await throwOnce(target, false);
    expect(console).toContain('app exception in onReadable');
    expect(console).not.toContain(where);
  }, 240_000);
});
