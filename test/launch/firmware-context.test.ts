// The in-process target runs the bundled firmware in a context with XS's globals only: a Node-only
// mistake fails in-process as on XS (posix), timers stop with the session, memory runs out as on
// the device; app exceptions are reported with where they happened, counted and delivered.
import { resolve } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { LinuxHost } from '../../host-sim/host.ts';
import { send, type RpmsgDevice, type RpmsgDriver } from '../../host-sim/rpmsg/rpmsg-core.ts';
import { openSession, readManifest, type Session, type TargetName } from '../../host-sim/session.ts';
import { InProcessRemote } from '../../host-sim/transports/in-process.ts';
import { firmwareImage } from '../../launch/firmware-image.ts';
import { inProcessHeapLimit, loadInProcessScript } from '../../launch/in-process.ts';
import { MPS2_BUFFER_BUDGET } from '../../launch/firmware-context.ts';

const root = resolve(import.meta.dirname, '../..');
const fixture = (name: string) => resolve(root, 'test/fixtures/apps', name, 'main.ts');
let sessions: Session[] = [];
afterEach(async () => {
  for (const session of sessions) await session.close();
  sessions = [];
});

async function until(condition: () => boolean, what: string, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A session of `app` with a driver on rpmsg-client-sample that collects replies as text. */
async function sampleSession(target: TargetName, app: string): Promise<{ session: Session; device: () => RpmsgDevice | null; replies: string[] }> {
  let bound: RpmsgDevice | null = null;
  const replies: string[] = [];
  const driver: RpmsgDriver = {
    name: 'sample', idTable: ['rpmsg-client-sample'],
    probe: (device) => { bound = device; },
    remove: () => { bound = null; },
    callback: (_device, data) => { replies.push(new TextDecoder().decode(data)); },
  };
  const session = await openSession({ target, app, beforeBoot: (host) => host.rpmsg.registerRpmsgDriver(driver) });
  sessions.push(session);
  return { session, device: () => bound, replies };
}

describe('a Node-only mistake fails in-process as on XS', () => {
  beforeAll(() => firmwareImage('posix', fixture('node-buffer')), 600_000);

  it.each(['in-process', 'posix'] as const)('Buffer.from in onReadable on %s: the exception is reported with endpoint, callback, message number; counted; onError tells the host', async (target) => {
    const { session, device, replies } = await sampleSession(target, fixture('node-buffer'));
    await until(() => device()?.ept != null, 'the channel');
    await send(device()!.ept!, 'hello');
    await until(() => replies.length > 0, 'the onError report');
    expect(replies[0]).toMatch(/^lost: ECANCELED: app exception in onReadable of "rpmsg-client-sample"@0x400 at message 1; the message is lost: TypeError: .+ appErrors=1$/);
    const console = session.console.join('\n');
    expect(console).toMatch(/rpmsg: ECANCELED: app exception in onReadable of "rpmsg-client-sample"@0x400 at message 1; the message is lost: TypeError/);
    if (target === 'in-process') {
      // V8 gives positions; the bundle's source map turns them into the app's TypeScript line.
      expect(console).toMatch(/test\/fixtures\/apps\/node-buffer\/main\.ts:10:\d+/);
    } else {
      // XS without line tables: the function names of the frames, no positions.
      expect(console).toMatch(/\n {2}at onReadable \(\)\n {2}at doorbell \(\)/); // the one-pass message path (the doorbell is the pass) delivers it
    }
  }, 60_000);
});

describe('the in-process context', () => {
  beforeAll(() => firmwareImage('posix', fixture('globals')), 600_000);

  it('has the globals XS has (posix build) and no others, and Date.now() counts from boot', async () => {
    const names: Record<string, string[]> = {};
    for (const target of ['in-process', 'posix'] as const) {
      const session = await openSession({ target, app: fixture('globals') });
      sessions.push(session);
      await until(() => session.console.some((line) => line.includes('tick 1')), 'the first tick');
      const line = session.console.find((l) => l.includes('globals: '))!;
      names[target] = line.slice(line.indexOf('globals: ') + 9).split(' ');
      if (target === 'in-process') {
        const clock = /clock: Date\.now (\d+) year (\d+)/.exec(session.console.join('\n'))!;
        expect(Number(clock[1])).toBeLessThan(10_000); // ms since boot, as qemu
        expect(clock[2]).toBe('1970');
      }
    }
    for (const absent of ['Buffer', 'process', 'require', 'module', 'TextEncoder', 'TextDecoder', 'setImmediate', 'queueMicrotask', 'performance', 'fetch', 'structuredClone', 'URL', 'Intl', 'WebAssembly']) {
      expect(names['in-process'], absent).not.toContain(absent);
      expect(names.posix, absent).not.toContain(absent);
    }
    expect(names['in-process'].filter((name) => !names.posix.includes(name))).toEqual([]);
    // What XS has that V8's context cannot give: XS's own Compartment, ModuleSource and the %TypedArray% global.
    expect(names.posix.filter((name) => !names['in-process'].includes(name))).toEqual(['Compartment', 'ModuleSource', 'TypedArray']);
  }, 60_000);

  it('closing the session stops the app\'s timers: no tick after close, no timer left', async () => {
    const session = await openSession({ target: 'in-process', app: fixture('globals') });
    await until(() => session.console.some((line) => line.includes('tick 3')), 'three ticks');
    const timersBefore = process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;
    await session.close();
    const lines = session.console.length;
    await new Promise((r) => setTimeout(r, 100));
    expect(session.console.slice(lines).filter((line) => line.includes('tick'))).toEqual([]);
    const timersAfter = process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;
    expect(timersAfter).toBeLessThan(timersBefore); // the app's interval is gone (the 100 ms sleep's timer is over too)
  }, 30_000);

  it('a firmware that holds more buffer memory than the budget stops with "memory full" (exit status 71), as XS does', async () => {
    const lines: string[] = [];
    const exits: [number, string][] = [];
    const remote = new InProcessRemote({ manifest: readManifest(), script: await loadInProcessScript(fixture('memory-hog')), console: (line) => lines.push(line), onExit: (status, reason) => exits.push([status, reason]), heapLimit: 1 << 20 });
    const host = new LinuxHost();
    const rproc = host.addRproc({ ops: remote, memory: remote.memory, dmaPool: remote.dmaPool, recovery: false });
    remote.attach(rproc);
    await rproc.boot(remote.firmware);
    expect(exits).toHaveLength(1);
    expect(exits[0][0]).toBe(71);
    expect(lines.join('\n')).toMatch(/\*\*\* xs-rpmsg firmware crashed \(exit status 71\): memory full \(\d+ bytes of buffers asked for, limit 1048576/);
    const held = Number(/holding (\d+)/.exec(lines.filter((line) => line.startsWith('holding')).pop()!)![1]);
    expect(held).toBeGreaterThanOrEqual(1 << 19);
    expect(held).toBeLessThanOrEqual(1 << 20);
    await rproc.shutdown();
  });

  it('the heap budget comes from manifest.json: platforms["in-process"].creation.static, else creation.static, else the mps2 figure', () => {
    expect(inProcessHeapLimit({})).toBe(MPS2_BUFFER_BUDGET);
    expect(inProcessHeapLimit({ creation: { static: 500_000 } })).toBe(500_000);
    expect(inProcessHeapLimit({ creation: { static: 500_000 }, platforms: { 'in-process': { creation: { static: 123_456 } } } })).toBe(123_456);
    expect(inProcessHeapLimit(readManifest())).toBe(MPS2_BUFFER_BUDGET);
  });

  it('a throwing timer with rpmsg.onError set is reported, counted and delivered; the firmware goes on', async () => {
    const session = await openSession({ target: 'in-process', app: fixture('timer-throws') });
    sessions.push(session);
    await until(() => session.console.some((line) => line.includes('still running')), 'the third tick');
    const console = session.console.join('\n');
    expect(console).toContain('onError got ECANCELED from timer: ECANCELED: app exception in timer: RangeError: tick 1 failed');
    expect(console).toMatch(/test\/fixtures\/apps\/timer-throws\/main\.ts:14:\d+/);
    expect(console).toContain('still running after 2 app errors');
  });
});
