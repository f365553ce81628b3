// Code that runs on XS must not use Node APIs: checked on the sources and on the real bundle.
import { readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bundleFirmware } from '../../tools/bundle-firmware.ts';
import { tmpdir } from 'node:os';

const root = resolve(import.meta.dirname, '../..');
/** Folders whose TypeScript is bundled into the firmware. */
const xsFolders = ['firmware/runtime', 'firmware/apps', 'wire', 'resource-table'];
const nodeApi = /from\s+['"](node:|fs|path|os|net|child_process|worker_threads|buffer|url|util|events)['"]|\brequire\(|\bprocess\.|\bBuffer\.|\b__dirname\b|\bsetImmediate\(/;

function typeScriptFiles(folder: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(join(root, folder))) {
    const path = join(folder, name);
    if (statSync(join(root, path)).isDirectory()) out.push(...typeScriptFiles(path));
    else if (name.endsWith('.ts') && !name.endsWith('.test.ts')) out.push(path);
  }
  return out;
}

describe('firmware code uses no Node API', () => {
  it('no source file bundled for XS imports or names a Node API', () => {
    const offenders = xsFolders.flatMap(typeScriptFiles).filter((path) => nodeApi.test(readFileSync(join(root, path), 'utf8')));
    expect(offenders).toEqual([]);
  });

  it('the firmware bundle builds for a neutral platform and names no Node global', async () => {
    const out = join(tmpdir(), `xs-rpmsg-bundle-${process.pid}.js`);
    try {
      const text = await bundleFirmware(out);
      expect(text).not.toMatch(/\brequire\(|\bprocess\.|\bBuffer\b|node:/);
    } finally {
      rmSync(out, { force: true });
      rmSync(`${out}.map`, { force: true }); // the bundler writes its source map beside the bundle
    }
  });

  it('the bundler refuses a Node import in firmware code', async () => {
    const { build } = await import('esbuild');
    await expect(
      build({ stdin: { contents: "import { readFileSync } from 'node:fs'; readFileSync('x');", resolveDir: root }, bundle: true, write: false, platform: 'neutral', logLevel: 'silent', plugins: [(await import('../../tools/bundle-firmware.ts')).forbidNodeApis] }),
    ).rejects.toThrow(/Node API/);
  });
});
