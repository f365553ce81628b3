/** Which engine files a build compiles -O2 (tools/xs-engine-patches.ts): the default set, none, or a list (bench/hot-files.ts). */
import { describe, expect, it } from 'vitest';
import { engineFileFlags, HOT_FILES, hotFilesOf } from '../../tools/xs-engine-patches.ts';

describe('hot files', () => {
  it('defaults to HOT_FILES on qemu-mps2, none when off, exactly the list given', () => {
    expect(hotFilesOf()).toEqual(HOT_FILES);
    expect(hotFilesOf({ hotFiles: true })).toEqual(HOT_FILES);
    expect(hotFilesOf({ hotFiles: false })).toEqual([]);
    expect(hotFilesOf({ hotFiles: ['xsObject.c'] })).toEqual(['xsObject.c']);
    expect(engineFileFlags('qemu-mps2', 'xsRun.c')).toEqual(['-O2']);
    expect(engineFileFlags('qemu-mps2', 'xsObject.c')).toEqual([]);
    expect(engineFileFlags('qemu-mps2', 'xsObject.c', { hotFiles: ['xsObject.c'] })).toEqual(['-O2']);
    expect(engineFileFlags('qemu-mps2', 'xsRun.c', { hotFiles: ['xsObject.c'] })).toEqual([]);
  });

  it('leaves the other targets at their own level', () => {
    for (const target of ['posix', 'stm32mp15', 'imx8m']) expect(engineFileFlags(target, 'xsRun.c')).toEqual([]);
  });
});
