/** `new NAME`: an app from the template (firmware/apps/NAME/: main.ts, manifest.json, bridge.json) and its host-side test (test/apps/NAME.test.ts). */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RpmsgError } from '../wire/errors.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** App names: also the channel name the app announces, so at most 31 characters. */
const NAME = /^[a-z][a-z0-9-]{0,30}$/;

function appSource(name: string): string {
  return `/** ${name}: answers each message on the "${name}" channel with the same text in capital letters. */
import type { Rpmsg } from '../../runtime/runtime.ts';
import { RPMSG_MTU } from '../../../wire/rpmsg.ts';

/** The channel this app announces (the name service makes it appear on the host). */
export const SERVICE = '${name}';

export default function app(rpmsg: Rpmsg): void {
  const scratch = new Uint8Array(RPMSG_MTU); // one buffer for every message: nothing allocated per message
  rpmsg.createEndpoint({
    name: SERVICE,
    onReadable(count, source) {
      const length = this.read(scratch);
      for (let i = 0; i < length; i++) if (scratch[i] >= 0x61 && scratch[i] <= 0x7a) scratch[i] -= 0x20;
      this.sendTo(source, scratch, length);
    },
  });
  rpmsg.log(\`${name}: serving "\${SERVICE}"\`);
}
`;
}

function testSource(name: string): string {
  return `/** The ${name} app, end to end: booted with the host simulator, asked through its channel. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openChannel, openSession, type ChannelEndpoint, type Session, type TargetName } from '../../host-sim/index.ts';

// in-process by default (milliseconds); XS_RPMSG_TARGET=posix or qemu runs the real XS firmware.
const target = (process.env.XS_RPMSG_TARGET ?? 'in-process') as TargetName;

describe('app ${name} on ' + target, () => {
  let session: Session;
  let channel: ChannelEndpoint;

  beforeAll(async () => {
    session = await openSession({ target, app: '${name}' });
    channel = await openChannel(session.host, '${name}');
  }, 120000);

  afterAll(async () => {
    channel?.close();
    await session?.close();
  });

  it('answers in capital letters', async () => {
    expect(new TextDecoder().decode(await channel.request('hello, remote'))).toBe('HELLO, REMOTE');
  });

  it('keeps every byte that is not a lower-case letter', async () => {
    const bytes = new Uint8Array([0, 1, 0x41, 0x7b, 0xff]);
    expect([...(await channel.request(bytes))]).toEqual([...bytes]);
  });
});
`;
}

/** Create the app; returns the files written (relative to the project). */
export function newApp(name: string, options: { root?: string } = {}): string[] {
  const base = options.root ?? root;
  if (!NAME.test(name)) throw new RpmsgError('EINVAL', `"${name}" cannot be an app name: use 1..31 lower-case letters, digits and "-", starting with a letter (it is also the channel name)`);
  const dir = join(base, 'firmware/apps', name);
  const test = join(base, 'test/apps', `${name}.test.ts`);
  for (const path of [dir, test]) if (existsSync(path)) throw new RpmsgError('EEXIST', `${relative(base, path)} already exists; pick another name or remove it`);
  const manifest = JSON.parse(readFileSync(join(base, 'manifest.json'), 'utf8')) as Record<string, unknown>;
  manifest.name = `xs-rpmsg-${name}`;
  manifest.description = `${name}: answers each message on the "${name}" channel in capital letters`;
  manifest.app = { name };
  mkdirSync(dir, { recursive: true });
  mkdirSync(dirname(test), { recursive: true });
  const files: [string, string][] = [
    [join(dir, 'main.ts'), appSource(name)],
    [join(dir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`],
    [join(dir, 'bridge.json'), `${JSON.stringify({ $comment: 'Channels programs outside Node may reach through the bridge (xs-rpmsg run).', allow: [name], expose: [{ channel: name }] }, null, 2)}\n`],
    [test, testSource(name)],
  ];
  for (const [path, text] of files) writeFileSync(path, text, { flag: 'wx' });
  return files.map(([path]) => relative(base, path));
}
