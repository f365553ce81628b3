// The firmware build type-checks the app and the runtime first, with XS's globals only, and
// stops on a type error with its file:line:column; a wrong app name names manifest.json.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { availableApps, manifestApp } from '../../tools/bundle-firmware.ts';
import { typecheckFirmware } from '../../tools/typecheck.ts';

const root = resolve(import.meta.dirname, '../..');
const work = join(root, 'build', `test-typecheck-${process.pid}`);
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Write an app (its imports are relative to build/test-typecheck-PID/NAME/) and a manifest naming it. */
function writeApp(name: string, body: string): { app: string; manifest: string } {
  const dir = join(work, name);
  mkdirSync(dir, { recursive: true });
  const app = join(dir, 'main.ts');
  writeFileSync(app, body);
  const manifest = join(dir, 'manifest.json');
  writeFileSync(manifest, JSON.stringify({ app: { name: 'main.ts' }, resourceTable: { vdevs: [{ type: 'rpmsg', features: ['ns'], vrings: [{ num: 16 }, { num: 16 }] }] } }));
  return { app, manifest };
}

const header = "import type { Rpmsg } from '../../../firmware/runtime/runtime.ts';\n";

describe('firmware type-check', () => {
  it('every app in firmware/apps checks under firmware/tsconfig.json', () => {
    for (const app of availableApps()) expect(typecheckFirmware(app).map((e) => e.text), app).toEqual([]);
  }, 120_000); // one TypeScript program per app (six apps), on a shared 2-core machine

  it('a string passed where bytes are expected stops the build with file:line:column', () => {
    const { manifest } = writeApp('string-send', `${header}export default function app(rpmsg: Rpmsg): void {
  rpmsg.createEndpoint({
    name: 'counter',
    onReadable(count, source) {
      this.read();
      this.sendTo(source, 'reply: ' + count);
    },
  });
}
`);
    const out = join(work, 'string-send', 'out');
    const result = spawnSync('npx', ['tsx', 'tools/build-firmware.ts', '--target', 'posix', '--manifest', manifest, '--out', out, '--quiet'], { cwd: root, encoding: 'utf8' });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(`build/test-typecheck-${process.pid}/string-send/main.ts:7:27 - error TS2345: Argument of type 'string' is not assignable to parameter of type 'Uint8Array`);
    expect(existsSync(join(out, 'xs-rpmsg-posix'))).toBe(false);
  });

  it('Node globals are not there: Buffer, process, TextEncoder are type errors', () => {
    const { app } = writeApp('node-globals', `${header}export default function app(rpmsg: Rpmsg): void {
  const a = Buffer.from('hi');
  const b = process.env.HOME;
  const c = new TextEncoder();
  setImmediate(() => {});
  console.log(String(a) + b + c);
  setTimeout(() => rpmsg.log('tick'), 10);
}
`);
    const errors = typecheckFirmware(app).map((e) => `${e.line}:${e.column} ${e.message}`);
    expect(errors).toEqual([
      "3:13 Cannot find name 'Buffer': firmware runs on XS, which has no Buffer (docs/XS-AND-NODE.md); use Uint8Array and firmware/runtime/text.ts",
      "4:13 Cannot find name 'process': firmware runs on XS, which has no process (docs/XS-AND-NODE.md)",
      "5:17 Cannot find name 'TextEncoder': firmware runs on XS, which has no TextEncoder (docs/XS-AND-NODE.md); use utf8Encode from firmware/runtime/text.ts",
      "6:3 Cannot find name 'setImmediate': firmware runs on XS, which has no setImmediate (docs/XS-AND-NODE.md); use setTimeout(callback, 0)",
    ]);
  });

  it('an app whose default export is not an App is refused', () => {
    const { app } = writeApp('not-an-app', 'export default 42;\n');
    const errors = typecheckFirmware(app);
    expect(errors.length).toBeGreaterThan(0);
    expect(errors[0].message).toMatch(/not assignable/);
  });

  it('a wrong app name in manifest.json names the manifest and lists the apps', () => {
    const dir = join(work, 'typo');
    mkdirSync(dir, { recursive: true });
    const manifest = join(dir, 'manifest.json');
    writeFileSync(manifest, JSON.stringify({ app: { name: 'ehco' } }));
    expect(() => manifestApp(manifest)).toThrow(/manifest\.json "app\.name": there is no app "ehco" \(no firmware\/apps\/ehco\/main\.ts\); the apps are: bench, bench-echo, e2e, echo, hello, openamp-demo/);
  });
});
