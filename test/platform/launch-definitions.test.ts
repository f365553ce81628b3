/** Pure parts of the build and launch definitions: manifest -> XS creation sizes, the qemu argument list. */
import { describe, expect, it } from 'vitest';
import { qemuArguments, PSRAM_SIZE } from '../../launch/qemu.ts';
import { creationFromManifest } from '../../tools/build-firmware.ts';

describe('creationFromManifest', () => {
  it('reads Moddable-style "creation" sizes, with per-target overrides under "platforms"', () => {
    const manifest = {
      board: 'mps2-an386',
      creation: { chunk: { initial: 1000, incremental: 100 }, heap: { initial: 50, incremental: 5 }, stack: 300, keys: { available: 40, name: 7, symbol: 3 }, parser: { buffer: 2048, table: 11 }, static: 0 },
      platforms: { posix: { creation: { stack: 4096 } } },
    };
    const qemu = creationFromManifest(manifest, 'qemu-mps2');
    expect(qemu.board).toBe('mps2-an386');
    expect(qemu.creation).toMatchObject({ initialChunkSize: 1000, incrementalChunkSize: 100, initialHeapCount: 50, incrementalHeapCount: 5, stackCount: 300, initialKeyCount: 40, nameModulo: 7, symbolModulo: 3, parserBufferSize: 2048, parserTableModulo: 11, staticSize: 0 });
    const posix = creationFromManifest(manifest, 'posix');
    expect(posix.board).toBe('posix');
    expect(posix.creation.stackCount).toBe(4096);
    expect(posix.creation.initialChunkSize).toBe(1000);
  });

  it('keys.available alone is the keys beyond those the program starts with (the build adds the precompiler\'s count); keys.initial is taken as given', () => {
    expect(creationFromManifest({ creation: { keys: { available: 64 } } }, 'qemu-mps2').creation.keysAvailable).toBe(64);
    const exact = creationFromManifest({ creation: { keys: { initial: 1000, available: 64 } } }, 'qemu-mps2').creation;
    expect(exact.keysAvailable).toBeNull();
    expect(exact.initialKeyCount).toBe(1000);
  });

  it('falls back to defaults without a manifest, and says so', () => {
    const result = creationFromManifest(null, 'qemu-mps2');
    expect(result.board).toBe('mps2-an385');
    expect(result.creation.stackCount).toBeGreaterThan(0);
    expect(result.notes.join()).toContain('no manifest.json');
  });

  it('refuses sizes that are not non-negative integers and boards the qemu platform does not support', () => {
    expect(() => creationFromManifest({ creation: { stack: -1 } }, 'qemu-mps2')).toThrow(/creation.stack/);
    expect(() => creationFromManifest({ board: 'stm32mp157' }, 'qemu-mps2')).toThrow(/not supported/);
  });
});

describe('qemuArguments', () => {
  const base = { elf: '/x/firmware.elf', shmPath: '/dev/shm/s', doorbellPath: '/tmp/d', qmpPath: '/tmp/q' };

  it('backs PSRAM with the shm file, puts UART0 on stdio and UART1 on the doorbell socket, starts paused with semihosting', () => {
    const args = qemuArguments(base).join(' ');
    expect(args).toContain('-machine mps2-an385,memory-backend=psram');
    expect(args).toContain(`memory-backend-file,id=psram,size=${PSRAM_SIZE},mem-path=/dev/shm/s,share=on`);
    expect(args).toMatch(/-chardev stdio,id=console,signal=off -serial chardev:console -chardev socket,id=doorbell,path=\/tmp\/d,server=on,wait=off -serial chardev:doorbell/);
    expect(args).toContain('-qmp unix:/tmp/q,server=on,wait=off');
    expect(args).toContain('-semihosting-config enable=on,target=native');
    expect(args).toContain('-kernel /x/firmware.elf');
    expect(qemuArguments(base)).toContain('-S');
    expect(qemuArguments({ ...base, paused: false })).not.toContain('-S');
  });

  it('adds -icount for deterministic timing when asked', () => {
    expect(qemuArguments({ ...base, icount: 0 }).join(' ')).toContain('-icount shift=0,align=off,sleep=on');
    expect(qemuArguments({ ...base, icount: { shift: 1, sleep: false }, machine: 'mps2-an386' }).join(' ')).toMatch(/mps2-an386.*-icount shift=1,align=off,sleep=off/);
  });
});
