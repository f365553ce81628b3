// An exception escaping an app callback: reported with endpoint, callback and message number,
// counted in statistics.appErrors, delivered to the endpoint's onError or rpmsg.onError; the
// next message is delivered as usual. (The runtime here runs directly in Node; the bundled,
// XS-like case is test/launch/firmware-context.test.ts.)
import { describe, expect, it } from 'vitest';
import { LinuxHost } from '../../host-sim/host.ts';
import { send, type RpmsgDevice } from '../../host-sim/rpmsg/rpmsg-core.ts';
import { readManifest } from '../../host-sim/session.ts';
import { InProcessRemote } from '../../host-sim/transports/in-process.ts';
import { AppException, type Rpmsg } from '../../firmware/runtime/runtime.ts';

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** Boot `app` in-process with a driver on "svc" collecting replies. */
async function boot(app: (rpmsg: Rpmsg) => void) {
  const lines: string[] = [];
  const replies: string[] = [];
  let device: RpmsgDevice | null = null;
  const remote = new InProcessRemote({ manifest: readManifest(), app, console: (line) => lines.push(line) });
  const host = new LinuxHost();
  host.rpmsg.registerRpmsgDriver({ name: 'svc', idTable: ['svc'], probe: (d) => { device = d; }, remove() {}, callback: (_d, data) => { replies.push(String.fromCharCode(...data)); } });
  const rproc = host.addRproc({ ops: remote, memory: remote.memory, dmaPool: remote.dmaPool });
  remote.attach(rproc);
  await rproc.boot(remote.firmware);
  await until(() => device !== null, 'the svc channel');
  return { lines, replies, remote, rproc, send: (text: string) => send(device!.ept!, text) };
}

/** Echoes, except that "boom" throws. */
function echoOrThrow(rpmsg: Rpmsg, onError?: (error: unknown) => void): void {
  rpmsg.createEndpoint({
    name: 'svc',
    onReadable(count, source) {
      const data = this.read().slice();
      if (String.fromCharCode(...data) === 'boom') throw new Error('boom');
      this.sendTo(source, data);
    },
    onError: onError === undefined ? undefined : function (error) { onError(error); },
  });
}

describe('app exceptions', () => {
  it('are logged with endpoint, callback, message number and stack, counted, and the next message is delivered', async () => {
    const t = await boot((rpmsg) => echoOrThrow(rpmsg));
    await t.send('one');
    await t.send('boom');
    await t.send('three');
    await until(() => t.replies.length === 2, 'two echoes');
    expect(t.replies).toEqual(['one', 'three']);
    const report = t.lines.find((line) => line.includes('app exception'))!;
    expect(report).toMatch(/^rpmsg: ECANCELED: app exception in onReadable of "svc"@0x400 at message 2; the message is lost: Error: boom\n {2}at Endpoint\.onReadable \(.*test\/firmware\/app-errors\.test\.ts:\d+:\d+\)/);
    expect(t.remote.runtime!.statistics.appErrors).toBe(1);
    await t.rproc.shutdown();
  });

  it('go to the endpoint\'s onError as an AppException (code ECANCELED)', async () => {
    const seen: AppException[] = [];
    const t = await boot((rpmsg) => echoOrThrow(rpmsg, (error) => seen.push(error as AppException)));
    await t.send('boom');
    await until(() => seen.length === 1, 'onError');
    const error = seen[0];
    expect(error).toBeInstanceOf(AppException);
    expect([error.code, error.callback, error.endpoint, error.messageNumber, (error.thrown as Error).message]).toEqual(['ECANCELED', 'onReadable', '"svc"@0x400', 1, 'boom']);
    expect(error.jsStack).toMatch(/app-errors\.test\.ts/);
    await t.rproc.shutdown();
  });

  it('go to rpmsg.onError when the endpoint has none; a throwing handler is logged, not re-delivered', async () => {
    const seen: string[] = [];
    let calls = 0;
    const t = await boot((rpmsg) => {
      rpmsg.onError = (error) => {
        calls++;
        seen.push(`${error.callback} ${error.messageNumber}`);
        throw new Error('handler broke');
      };
      echoOrThrow(rpmsg);
    });
    await t.send('boom');
    await until(() => seen.length >= 1, 'rpmsg.onError');
    expect(seen[0]).toBe('onReadable 1');
    expect(calls).toBe(1);
    expect(t.lines.some((line) => line === 'rpmsg: the error handler threw too: Error: handler broke')).toBe(true);
    expect(t.remote.runtime!.statistics.appErrors).toBe(2); // the exception and the handler's
    await t.send('still echoing');
    await until(() => t.replies.includes('still echoing'), 'the next echo');
    await t.rproc.shutdown();
  });
});
