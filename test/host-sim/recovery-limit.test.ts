// Crash recovery with a limit and backoff: a firmware that throws at its top level is restarted
// a few times, ever later, then left stopped with one line saying why.
import { describe, expect, it } from 'vitest';
import { resolve } from 'node:path';
import { LinuxHost } from '../../host-sim/host.ts';
import { DEFAULT_RECOVERY_LIMIT } from '../../host-sim/remoteproc/remoteproc-core.ts';
import { openSession, readManifest } from '../../host-sim/session.ts';
import { InProcessRemote } from '../../host-sim/transports/in-process.ts';
import { loadInProcessScript } from '../../launch/in-process.ts';

const throwAtTop = resolve(import.meta.dirname, '../fixtures/apps/throw-at-top/main.ts');

async function until(condition: () => boolean, what: string, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('crash recovery limit', () => {
  it('defaults like a supervisor: 5 crashes in 10 s, restarts 0, 100, 200, 400 ms apart, then one line and no restart', async () => {
    expect(DEFAULT_RECOVERY_LIMIT).toEqual({ maxCrashes: 5, windowMs: 10_000, backoffMs: 100, maxBackoffMs: 5_000 });
    const session = await openSession({ target: 'in-process', app: throwAtTop });
    try {
      await until(() => session.rproc.gaveUp !== null, 'recovery to give up');
      const starts = session.console.filter((line) => line === 'throw-at-top: starting').length;
      expect(starts).toBe(5);
      expect(session.rproc.recoveries).toBe(4);
      expect(session.rproc.gaveUp).toMatch(/^remote crashed 5 times in 0\.[6-9] s at unhandled exception: Error: configuration missing; not restarting$/);
      const lines = session.host.log.lines.map((line) => line.text);
      expect(lines.filter((text) => text.includes('not restarting'))).toHaveLength(1);
      expect(lines.filter((text) => /recovering remoteproc0 in \d+ ms/.test(text)).map((text) => /in (\d+) ms/.exec(text)![1])).toEqual(['100', '200', '400']);
      await new Promise((r) => setTimeout(r, 300));
      expect(session.console.filter((line) => line === 'throw-at-top: starting').length).toBe(5);
      expect(session.rproc.state).toBe('crashed');
    } finally {
      await session.close();
    }
  });

  it('is configurable, and shutdown() ends a backoff wait at once', async () => {
    const lines: string[] = [];
    const remote = new InProcessRemote({ manifest: readManifest(), script: await loadInProcessScript(throwAtTop), console: (line) => lines.push(line), onExit: () => setImmediate(() => void rproc.reportCrash('top-level throw')) });
    const host = new LinuxHost();
    const rproc = host.addRproc({ ops: remote, memory: remote.memory, dmaPool: remote.dmaPool, recoveryLimit: { maxCrashes: 3, windowMs: 60_000, backoffMs: 50 } });
    remote.attach(rproc);
    await rproc.boot(remote.firmware);
    await until(() => rproc.gaveUp !== null, 'recovery to give up');
    expect(rproc.gaveUp).toMatch(/^remote crashed 3 times in 0\.\d s at top-level throw; not restarting$/);
    expect(lines.filter((line) => line === 'throw-at-top: starting')).toHaveLength(3);
    await rproc.shutdown();

    // A long backoff: shutdown does not wait for it.
    const rproc2Lines: string[] = [];
    const remote2 = new InProcessRemote({ manifest: readManifest(), script: await loadInProcessScript(throwAtTop), console: (line) => rproc2Lines.push(line), onExit: () => setImmediate(() => void rproc2.reportCrash('top-level throw')) });
    const rproc2 = host.addRproc({ name: 'remoteproc1', ops: remote2, memory: remote2.memory, dmaPool: remote2.dmaPool, recoveryLimit: { backoffMs: 60_000, maxBackoffMs: 60_000 } });
    remote2.attach(rproc2);
    await rproc2.boot(remote2.firmware);
    await until(() => host.log.lines.some((line) => /recovering remoteproc1 in 60000 ms/.test(line.text)), 'the long backoff');
    const started = Date.now();
    await rproc2.shutdown();
    expect(Date.now() - started).toBeLessThan(1000);
    expect(rproc2.state).toBe('offline');
  });
});
