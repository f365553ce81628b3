/** The qemu-mps2 firmware (real XS engine, arm-none-eabi-gcc, qemu-system-arm): console, shared memory, doorbell, timers, crash reporting. */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { launchQemu, PSRAM_BASE, PSRAM_SIZE, type QemuInstance } from '../../launch/qemu.ts';
import { buildFixture, Command, COMMAND, DoorbellQueue, median, readBytes, readCrashRecord, writeWords } from './helpers.ts';

const elf: Record<string, string> = {};
let running: QemuInstance[] = [];

beforeAll(async () => {
  for (const name of ['hello', 'doorbell', 'throw-at-top']) elf[name] = await buildFixture('qemu-mps2', name);
  // a byte-code build reports the syntax error at build time (test/platform/precompile.test.ts); a source image parses on the device
  elf['syntax-error'] = await buildFixture('qemu-mps2', 'syntax-error', { program: 'source' });
  elf['doorbell-big-stack'] = await buildFixture('qemu-mps2', 'doorbell', { manifest: 'big-js-stack.manifest.json', out: 'doorbell-big-stack' });
  // manifest.json's C stack is sized for the echo app (no JSON): the 200-deep JSON.parse needs its own
  elf['doorbell-json'] = await buildFixture('qemu-mps2', 'doorbell', { manifest: 'json-c-stack.manifest.json', out: 'doorbell-json' });
}, 600_000);

afterEach(async () => {
  // Always: kill qemu, delete the shm file and the sockets, even when the test failed.
  for (const instance of running) {
    const files = [instance.shmPath, instance.doorbellPath, instance.qmpPath];
    await instance.close();
    for (const file of files) expect(existsSync(file)).toBe(false);
  }
  running = [];
});

/** Address of a static variable of the board (arm-none-eabi-nm), for QMP's xp. */
function boardSymbol(elfPath: string, name: string): number {
  const line = execFileSync('arm-none-eabi-nm', [elfPath], { encoding: 'utf8' }).split('\n').find((entry) => entry.endsWith(` ${name}`));
  if (!line) throw new Error(`ENOENT: no symbol ${name} in ${elfPath}`);
  return parseInt(line.split(' ')[0], 16);
}

/** Launches a fixture paused, connects the doorbell, then starts the CPU. */
async function boot(name: string): Promise<{ qemu: QemuInstance; doorbell: DoorbellQueue }> {
  const qemu = await launchQemu({ elf: elf[name] });
  running.push(qemu);
  const doorbell = new DoorbellQueue(await qemu.connectDoorbell());
  await qemu.cont();
  return { qemu, doorbell };
}

describe('qemu-mps2 firmware', () => {
  it('boots XS, exposes platform.memory over PSRAM, runs promise jobs and timers, and exits with the status the script gives', async () => {
    const { qemu } = await boot('hello');
    const exit = await qemu.exited;
    expect(exit.code, qemu.console).toBe(0);
    expect(qemu.console).toContain('hello from XS on mps2-an385');
    expect(qemu.console).toContain(`memoryBase=0x${PSRAM_BASE.toString(16)} byteLength=${PSRAM_SIZE} resourceTableOffset=0`);
    expect(qemu.console).toMatch(/resource table ver=1 num=\d/);
    expect(qemu.console).toContain(`memory write readback a5 deadbeef u8len=${PSRAM_SIZE}`);
    expect(qemu.console).toContain('views with offsets a5 65536 16 deadbeef false');
    expect(qemu.console).toContain('promise job ran 1');
    // A 20 ms timer fires no earlier than asked (board ms granularity allows 19 on qemu); no upper bound: machines here are shared.
    const fired = /timeout fired after (\d+) ms args x 42/.exec(qemu.console);
    expect(fired, 'the timer line').not.toBeNull();
    expect(Number(fired![1])).toBeGreaterThanOrEqual(19);
    expect(qemu.console).toContain('interval ran 3 times');
    expect(qemu.console).toMatch(/xs: heap after boot \(\d+ ms\): \d+ bytes in use/);
    // the script's writes landed in the /dev/shm file the host maps
    const bytes = readBytes(qemu.shmPath, 0x10000, 8);
    expect(bytes[0]).toBe(0xa5);
    expect(bytes.readUInt32LE(4)).toBe(0xdeadbeef);
    // the loaded resource table is in the file at offset 0
    expect(readBytes(qemu.shmPath, 0, 4).readUInt32LE(0)).toBe(1);
  }, 30_000);

  it('answers doorbell kicks on UART1: one byte out per onNotify, carrying the value the script passes to notify()', async () => {
    const { qemu, doorbell } = await boot('doorbell');
    await qemu.waitForConsole('doorbell fixture ready');
    const times: number[] = [];
    for (let i = 0; i < 200; i++) {
      writeWords(qemu.shmPath, COMMAND, [Command.ECHO, (i * 7 + 3) & 0xff]);
      const start = process.hrtime.bigint();
      doorbell.kick();
      expect(await doorbell.next()).toBe((i * 7 + 3) & 0xff);
      times.push(Number(process.hrtime.bigint() - start) / 1e6);
    }
    expect(readBytes(qemu.shmPath, COMMAND + 8, 4).readUInt32LE(0)).toBe(200);
    console.log(`qemu doorbell round trip: median ${median(times).toFixed(3)} ms over 200 (min ${Math.min(...times).toFixed(3)}, max ${Math.max(...times).toFixed(3)})`);
  }, 30_000);

  it('merges kicks: several bytes before the script runs give fewer onNotify calls, never more', async () => {
    const { qemu, doorbell } = await boot('doorbell');
    await qemu.waitForConsole('doorbell fixture ready');
    writeWords(qemu.shmPath, COMMAND, [Command.ECHO, 9, 0]);
    doorbell.socket.write(Buffer.from([1, 1, 1, 1, 1, 1, 1, 1]));
    expect(await doorbell.next()).toBe(9);
    await new Promise((r) => setTimeout(r, 200));
    const calls = readBytes(qemu.shmPath, COMMAND + 8, 4).readUInt32LE(0);
    expect(calls).toBeGreaterThanOrEqual(1);
    expect(calls).toBeLessThanOrEqual(8);
    expect(doorbell.pending).toBe(calls - 1);
  }, 30_000);

  it('keeps the doorbell alive after bursts of kicks: every kick of every burst, and every later kick, is delivered', async () => {
    // UART1_RX_Handler used to clear INTSTATUS after draining: a kick byte landing between the
    // last STATE read and that write lost its interrupt while RXFULL stayed set, and QEMU's CMSDK
    // UART takes no byte while RXFULL is set, so the doorbell was dead for the rest of the session
    // (before the fix about half of the 10,000-kick rounds below stalled).
    const { qemu, doorbell } = await boot('doorbell');
    await qemu.waitForConsole('doorbell fixture ready');
    const address = boardSymbol(elf.doorbell, 'kicks_received');
    const hmp = async (line: string) => String(await qemu.qmp!.execute('human-monitor-command', { 'command-line': line })).trim();
    const kicksReceived = async () => parseInt((await hmp(`xp /1wx 0x${address.toString(16)}`)).split(' ').pop()!, 16);
    writeWords(qemu.shmPath, COMMAND, [Command.ECHO, 0x5a, 0]); // every onNotify answers: both directions busy
    let sent = 0;
    for (let round = 0; round < 4; round++) {
      for (let i = 0; i < 10; i++) {
        doorbell.socket.write(Buffer.alloc(1000, 1));
        sent += 1000;
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
      // every byte is taken by the board (a stalled count for 3 s is a dead doorbell)
      let seen = -1;
      let progress = Date.now();
      for (;;) {
        const now = await kicksReceived();
        if (now === sent) break;
        if (now !== seen) { seen = now; progress = Date.now(); }
        // STATE (0x40005004) RXFULL is bit 1, INTSTATUS (0x4000500c) RX bit 0: RXFULL set with no interrupt is the dead state
        if (Date.now() - progress > 3000) expect.fail(`round ${round}: ${now} of ${sent} kicks received; UART1 STATE/CTRL/INTSTATUS: ${await hmp('xp /3wx 0x40005004')}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
    while (doorbell.pending > 0) await doorbell.next();
    for (let i = 0; i < 100; i++) {
      writeWords(qemu.shmPath, COMMAND, [Command.ECHO, i]);
      doorbell.kick();
      expect(await doorbell.next(3000)).toBe(i);
    }
    expect(await kicksReceived()).toBe(sent + 100);
  }, 90_000);

  it('waitForNotify blocks until the deadline without a kick, and returns true as soon as one comes', async () => {
    const { qemu, doorbell } = await boot('doorbell');
    await qemu.waitForConsole('doorbell fixture ready');
    writeWords(qemu.shmPath, COMMAND, [Command.WAIT, 150]);
    doorbell.kick();
    expect(await doorbell.next()).toBe(0);
    expect(qemu.console).toMatch(/waitForNotify\(150\) -> false after 1[5-9]\d ms/);
    writeWords(qemu.shmPath, COMMAND, [Command.WAIT, 5000]);
    doorbell.kick();
    await new Promise((r) => setTimeout(r, 100));
    writeWords(qemu.shmPath, COMMAND, [Command.ECHO, 0x77]); // what the deferred onNotify will see
    doorbell.kick();
    expect(await doorbell.next()).toBe(1);
    expect(qemu.console).toMatch(/waitForNotify\(5000\) -> true after \d{2,3} ms/);
    // the kick waitForNotify consumed is still delivered to onNotify by the loop
    expect(await doorbell.next()).toBe(0x77);
  }, 30_000);

  it('platform.exit(code) ends QEMU with that semihosting status', async () => {
    const { qemu, doorbell } = await boot('doorbell');
    await qemu.waitForConsole('doorbell fixture ready');
    writeWords(qemu.shmPath, COMMAND, [Command.EXIT, 42]);
    doorbell.kick();
    expect((await qemu.exited).code).toBe(42);
    expect(readCrashRecord(qemu.shmPath)).toBeNull();
  }, 30_000);

  const crashes = [
    { command: Command.THROW, status: 75, text: 'unhandled exception: RangeError: thrown from onNotify with 7' },
    { command: Command.REJECT, status: 78, text: 'unhandled rejection: Error: rejected with 7' },
    { command: Command.ALLOCATE, status: 71, text: 'memory full' },
  ];
  for (const crash of crashes) {
    it(`reports a crash (${crash.text}) on UART0, in the crash record, and as exit status ${crash.status}`, async () => {
      const { qemu, doorbell } = await boot('doorbell');
      await qemu.waitForConsole('doorbell fixture ready');
      writeWords(qemu.shmPath, COMMAND, [crash.command, 7]);
      doorbell.kick();
      const exit = await qemu.exited;
      expect(exit.code, qemu.console).toBe(crash.status);
      expect(qemu.console).toContain(`*** xs-rpmsg firmware crashed (exit status ${crash.status}): ${crash.text}`);
      const record = readCrashRecord(qemu.shmPath);
      expect(record?.status).toBe(crash.status);
      expect(record?.reason).toContain(crash.text);
    }, 60_000);
  }

  it('ends unbounded JS recursion with a reported JS stack overflow (bounds checks on), never a hang or memory corruption', async () => {
    const { qemu, doorbell } = await boot('doorbell');
    await qemu.waitForConsole('doorbell fixture ready');
    writeWords(qemu.shmPath, COMMAND, [Command.RECURSE, 0]);
    doorbell.kick();
    expect((await qemu.exited).code).toBe(72);
    expect(qemu.console).toMatch(/\*\*\* xs-rpmsg firmware crashed \(exit status 72\): stack overflow \(JS stack of \d+ slots/);
  }, 60_000);

  for (const [command, arg] of [[Command.NEST, 100_000], [Command.MAP_RECURSE, 0]]) {
    it(`stops C recursion at the C-stack limit (${command === Command.NEST ? 'JSON.parse of 100000 nested arrays' : 'recursion through Array.prototype.map'})`, async () => {
      const { qemu, doorbell } = await boot('doorbell-big-stack');
      await qemu.waitForConsole('doorbell fixture ready');
      writeWords(qemu.shmPath, COMMAND, [command, arg]);
      doorbell.kick();
      expect((await qemu.exited).code).toBe(72);
      expect(qemu.console).toContain('*** xs-rpmsg firmware crashed (exit status 72): stack overflow (C stack reached its limit)');
    }, 60_000);
  }

  it('parses moderately nested JSON within the C stack (20 KB, test/platform/fixtures/json-c-stack.manifest.json)', async () => {
    const { qemu, doorbell } = await boot('doorbell-json');
    await qemu.waitForConsole('doorbell fixture ready');
    writeWords(qemu.shmPath, COMMAND, [Command.NEST, 200]);
    doorbell.kick();
    expect(await doorbell.next()).toBe(8);
    // The console (UART0) and the doorbell (UART1) are separate channels: the line may come after the reply.
    await qemu.waitForConsole('parsed 200 nested arrays');
  }, 30_000);

  it('reports an exception thrown by the top-level script, and (source image) a script that does not parse, with its line', async () => {
    let qemu = (await boot('throw-at-top')).qemu;
    expect((await qemu.exited).code).toBe(75);
    expect(qemu.console).toContain('about to throw');
    expect(qemu.console).toContain('unhandled exception: TypeError: top-level failure for the crash test');
    qemu = (await boot('syntax-error')).qemu;
    expect((await qemu.exited).code).toBe(75);
    expect(qemu.console).toContain('app.js:2: error: missing ,');
    expect(qemu.console).toContain('unhandled exception: SyntaxError');
  }, 30_000);

  it('is controlled over QMP: stop holds the CPU, cont resumes it, system_reset reboots the firmware', async () => {
    const { qemu, doorbell } = await boot('doorbell');
    await qemu.waitForConsole('doorbell fixture ready');
    await qemu.stop();
    writeWords(qemu.shmPath, COMMAND, [Command.ECHO, 5]);
    doorbell.kick();
    await expect(doorbell.next(300)).rejects.toThrow(/no doorbell byte/);
    await qemu.cont();
    expect(await doorbell.next()).toBe(5);
    await qemu.systemReset();
    await qemu.waitForConsole(/doorbell fixture ready[\s\S]*doorbell fixture ready/);
    expect(qemu.console.match(/xs: booting/g)?.length).toBe(2);
    const exit = await qemu.quit();
    expect(exit.code).toBe(0);
  }, 30_000);
});
