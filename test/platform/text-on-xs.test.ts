// firmware/runtime/text.ts on the real XS engine (posix build): the same kinds of cases as
// test/firmware/text.test.ts, generated here with a fixed seed, run on XS, compared with Node's
// TextEncoder/TextDecoder (decoded text compared as code points: XS counts an astral character
// as one unit). Also records what Date.now() means on XS posix (docs/XS-AND-NODE.md).
import { build } from 'esbuild';
import fc from 'fast-check';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { launchPosixRemote, type PosixRemote } from '../../launch/posix.ts';
import { buildFirmware } from '../../tools/build-firmware.ts';
import { anyUnits, utf8ishBytes } from '../firmware/text-cases.ts';
import { root } from './helpers.ts';

const work = join(root, 'build', `test-text-xs-${process.pid}`);
let remote: PosixRemote | null = null;
afterAll(async () => {
  await remote?.close();
  rmSync(work, { recursive: true, force: true });
});

const hex = (values: ArrayLike<number>) => Array.from(values, (v) => v.toString(16)).join(' ');

describe('UTF-8 helpers on XS', () => {
  it('encode and decode on XS agree with Node\'s TextEncoder/TextDecoder', async () => {
    const strings = fc.sample(fc.oneof(anyUnits, fc.string({ unit: 'binary' })), { numRuns: 300, seed: 13 });
    strings.push('€😀', '\ud800', 'a\udc00b', 'x'.repeat(600));
    const byteCases = fc.sample(utf8ishBytes, { numRuns: 500, seed: 13 }).map((b) => Array.from(b));
    byteCases.push([0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xf0, 0x9f, 0x98], [0xef, 0xbb, 0xbf, 0x41]);
    mkdirSync(work, { recursive: true });
    const entry = join(work, 'entry.ts');
    writeFileSync(entry, `
import { utf8Decode, utf8Encode, utf8EncodeInto } from '../../firmware/runtime/text.ts';
const strings: number[][] = ${JSON.stringify(strings.map((s) => Array.from({ length: s.length }, (_, i) => s.charCodeAt(i))))};
const byteCases: number[][] = ${JSON.stringify(byteCases)};
const hex = (values: ArrayLike<number>) => Array.from(values, (v) => v.toString(16)).join(' ');
const scratch = new Uint8Array(8);
for (let i = 0; i < strings.length; i++) {
  // one unit at a time: apply() with 600 arguments would take 600 slots of the firmware's 768-slot JS stack
  let text = '';
  for (const unit of strings[i]) text += String.fromCharCode(unit);
  const into = utf8EncodeInto(text, scratch, 1);
  platform.log('E' + i + ': ' + hex(utf8Encode(text)) + ' | ' + into + ': ' + hex(scratch.subarray(1, 1 + into)));
}
for (let i = 0; i < byteCases.length; i++) {
  const text = utf8Decode(new Uint8Array(byteCases[i]));
  const codePoints: number[] = [];
  for (const character of text) codePoints.push(character.codePointAt(0)!);
  platform.log('D' + i + ': ' + hex(codePoints));
}
platform.log('clock: Date.now ' + Date.now() + ' platform.now ' + platform.now());
platform.exit(0);
`);
    const js = join(work, 'text.js');
    await build({ entryPoints: [entry], bundle: true, format: 'iife', platform: 'neutral', target: 'es2022', outfile: js, logLevel: 'silent' });
    const { output } = await buildFirmware({ target: 'posix', js, out: join(work, 'posix'), verbose: false });
    remote = launchPosixRemote({ executable: output });
    await remote.waitForConsole('waiting for the host');
    await remote.connectDoorbell();
    const exit = await remote.exited;
    expect(exit.code, remote.console + remote.stderr).toBe(0);
    const lines = new Map(remote.console.split('\n').map((line) => [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 2)]));
    const encoder = new TextEncoder();
    const decoder = new TextDecoder('utf-8', { ignoreBOM: true });
    strings.forEach((text, i) => {
      const scratch = new Uint8Array(8);
      const { written } = encoder.encodeInto(text, scratch.subarray(1));
      expect(lines.get(`E${i}`), JSON.stringify(text)).toBe(`${hex(encoder.encode(text))} | ${written}: ${hex(scratch.subarray(1, 1 + written))}`);
    });
    byteCases.forEach((bytes, i) => {
      const text = decoder.decode(new Uint8Array(bytes));
      expect(lines.get(`D${i}`), hex(bytes)).toBe(hex(Array.from(text, (character) => character.codePointAt(0)!)));
    });
    // Date.now() on XS posix: gettimeofday, i.e. wall-clock time (platform.now() is ms since boot).
    const clock = /clock: Date\.now (\d+(?:\.\d+)?) platform\.now (\d+(?:\.\d+)?)/.exec(remote.console);
    expect(clock).not.toBeNull();
    expect(Math.abs(Number(clock![1]) - Date.now())).toBeLessThan(60_000);
    expect(Number(clock![2])).toBeLessThan(60_000);
  }, 300_000);
});
