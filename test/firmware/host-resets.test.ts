// Issue 9 items 1-4: the remote survives what real hosts do (resets it must infer, resets during a
// blocked send, withdrawn rings, sessions that end mid-traffic), against a host written by hand.
import { afterEach, describe, expect, it } from 'vitest';
import type { Endpoint } from '../../firmware/runtime/rpmsg/endpoint.ts';
import type { Rpmsg } from '../../firmware/runtime/runtime.ts';
import echoApp from '../../firmware/apps/echo/main.ts';
import { RpmsgError } from '../../wire/errors.ts';
import { announcements, handHost, tick, type HandHost } from './hand-host.ts';

let current: HandHost | null = null;
afterEach(() => {
  current?.stop();
  current = null;
});

/** The echo app plus an endpoint that records onError codes and host resets. */
function watched(extra?: (rpmsg: Rpmsg) => void) {
  const seen = { errors: [] as string[], resets: 0, ready: 0 };
  const app = (rpmsg: Rpmsg) => {
    echoApp(rpmsg);
    rpmsg.createEndpoint({ onError: (error) => seen.errors.push(error.code) });
    rpmsg.onHostReset = () => seen.resets++;
    rpmsg.onHostReady = () => seen.ready++;
    extra?.(rpmsg);
  };
  return { seen, app };
}

describe('host resets the remote must infer', () => {
  it('status 0 then ACKNOWLEDGE (1) back to back, as virtio_dev_remove writes: a reset; the next boot is announced again', async () => {
    const { seen, app } = watched();
    const host = (current = handHost(app));
    host.boot();
    await tick();
    expect(announcements(host.received()).map((a) => a.name)).toEqual(['rpmsg-client-sample']);
    host.status(0);
    host.status(1); // the remote never sees the 0
    await tick(60);
    expect(host.runtime.hostReady).toBe(false);
    expect(seen.resets).toBe(1);
    expect(seen.errors).toEqual(['EPIPE']);
    expect(host.log.join('\n')).toMatch(/host reset the device \(status 0x1, no DRIVER_OK\)/);
    host.boot();
    await tick();
    expect(host.runtime.hostReady).toBe(true);
    expect(announcements(host.received()).map((a) => a.name)).toEqual(['rpmsg-client-sample']);
    expect(host.runtime.errors.total()).toBe(0);
  });

  it('NEEDS_RESET (0x40, as an OpenAMP host writes) is answered with status 0 and treated as a reset, alone or beside DRIVER_OK', async () => {
    for (const request of [0x40, 0x47]) {
      const { seen, app } = watched();
      const host = (current = handHost(app));
      host.boot();
      await tick();
      host.status(request);
      await tick(60);
      expect(host.status()).toBe(0);
      expect(host.runtime.hostReady).toBe(false);
      expect(seen.resets).toBe(1);
      host.received();
      host.boot();
      await tick();
      expect(announcements(host.received())).toHaveLength(1);
      host.stop();
    }
  });

  it('rings set up afresh while the status byte never showed a reset (unbind and bind between two looks): recognised, re-announced, nothing counted as corruption', async () => {
    const { seen, app } = watched();
    const host = (current = handHost(app));
    host.boot();
    await tick();
    // Some traffic, so the remote's ring indexes are well away from 0.
    for (let i = 0; i < 40; i++) host.send(0x401, 0x400, `m${i}`);
    await tick(20);
    expect(host.received().filter((m) => m.dst === 0x401)).toHaveLength(40);
    host.boot(); // status 0, 1, 3, 7 and zeroed rings in one go: the remote sees DRIVER_OK throughout
    await tick(60);
    expect(seen.resets).toBe(1);
    expect(seen.ready).toBe(2);
    expect(announcements(host.received()).map((a) => a.name)).toEqual(['rpmsg-client-sample']);
    host.send(0x402, 0x400, 'again');
    await tick(20);
    expect(host.received().map((m) => new TextDecoder().decode(m.data))).toEqual(['again']);
    expect(host.runtime.errors.count('avail-index-corrupt')).toBe(0);
    expect(host.runtime.errors.total()).toBe(0);
  });
});

describe('a send blocked for a TX buffer', () => {
  /** An endpoint whose onReadable sends the message back twice, blocking; records how each send ended. */
  function twiceApp(outcomes: string[]) {
    return (rpmsg: Rpmsg) => {
      rpmsg.createEndpoint({
        address: 0x500,
        sendTimeout: 3000,
        onReadable(_count, source) {
          const data = this.read().slice();
          for (let i = 0; i < 2; i++) {
            try {
              this.sendTo(source, data);
              outcomes.push('sent');
            } catch (error) {
              outcomes.push((error as RpmsgError).code);
            }
          }
        },
      });
    };
  }

  it('sees a host reset while it waits (status 0 then 1 in the host\'s doorbell handler) and fails with EPIPE, not after its timeout', async () => {
    const outcomes: string[] = [];
    const host = (current = handHost(twiceApp(outcomes)));
    host.boot({ rxBuffers: 1 }); // one TX buffer for the remote: the first send takes it
    await tick();
    host.onKick = () => {
      // Linux handles the kick of the first send, then virtio_dev_remove: 0, then 1.
      host.status(0);
      host.status(1);
    };
    host.send(0x401, 0x500, 'x');
    await tick(20);
    expect(outcomes).toEqual(['sent', 'EPIPE']);
    expect(host.runtime.hostReady).toBe(false);
  });

  it('fails at once with EIO when the host corrupted vring 0 (set aside), as does trySend', async () => {
    const outcomes: string[] = [];
    const host = (current = handHost(twiceApp(outcomes)));
    host.boot({ rxBuffers: 2 });
    await tick();
    host.view.setUint16(host.rx + host.layout.avail + 2, 2 + 1000, true); // avail.idx far past the ring
    host.send(0x401, 0x500, 'x');
    await tick(20);
    expect(outcomes).toEqual(['EIO', 'EIO']);
    expect(host.runtime.errors.count('avail-index-corrupt')).toBe(1);
  });
});

describe('nothing of one host session leaks into the next', () => {
  it('a burst waiting for TX buffers when the host went away does not resume on the next host; onError tells the app', async () => {
    const seen = { writable: 0, errors: [] as string[] };
    let endpoint: Endpoint | null = null;
    const burst = { left: 0 };
    const pump = () => {
      while (burst.left > 0) {
        try {
          endpoint!.trySendTo(0x401, new Uint8Array(8));
        } catch (error) {
          if ((error as RpmsgError).code === 'ENOMEM') return;
          throw error;
        }
        burst.left--;
      }
    };
    const host = (current = handHost((rpmsg) => {
      endpoint = rpmsg.createEndpoint({
        name: 'burster',
        onReadable() {
          burst.left = 10;
          pump();
        },
        onWritable() {
          seen.writable++;
          pump();
        },
        onError(error) {
          seen.errors.push(error.code);
        },
      });
    }));
    host.boot({ rxBuffers: 4 }); // the announcement takes one: 3 of the 10 go out, then ENOMEM
    await tick();
    host.send(0x401, endpoint!.address, 'go');
    await tick(20);
    expect(host.received().filter((m) => m.dst === 0x401)).toHaveLength(3);
    expect(endpoint!.wantsWritable).toBe(true);
    host.status(0); // the host goes away
    await tick(60);
    expect(seen.errors).toEqual(['EPIPE']);
    expect(endpoint!.wantsWritable).toBe(false);
    host.boot(); // a fresh host with 256 buffers
    await tick(60);
    const sent = host.received();
    expect(announcements(sent).map((a) => a.name)).toEqual(['burster']);
    expect(sent).toHaveLength(1); // nothing to the old session's 0x401
    expect(seen.writable).toBe(0);
  });
});

describe('endpoint options are checked before anything is bound (item 7)', () => {
  it('a name over 31 bytes or non-ASCII fails with EINVAL; nothing bound; later endpoints are announced and onHostReady fires', async () => {
    const failures: string[] = [];
    let ready = 0;
    let good: Endpoint | null = null;
    const host = (current = handHost((rpmsg) => {
      for (const name of ['n'.repeat(32), 'caf\u00e9']) {
        try {
          rpmsg.createEndpoint({ name, address: 0x600 });
        } catch (error) {
          failures.push((error as Error).message);
        }
      }
      good = rpmsg.createEndpoint({ name: 'svc-good', address: 0x600 }); // the address was not taken by the failures
      rpmsg.onHostReady = () => ready++;
    }));
    expect(failures).toHaveLength(2);
    expect(failures[0]).toMatch(/^EINVAL: cannot create the endpoint: channel name "n+" is 32 bytes; rpmsg names hold at most 31/);
    expect(failures[1]).toMatch(/^EINVAL: .*non-ASCII/);
    host.boot();
    await tick();
    expect(ready).toBe(1);
    expect(announcements(host.received())).toEqual([{ name: 'svc-good', addr: 0x600, flags: 0 }]);
    expect(good!.open).toBe(true);
  });

  it('fixed addresses are range-checked (EINVAL), 53 is the name service\'s (EBUSY), destinations and timeouts checked', () => {
    const codes: string[] = [];
    const host = (current = handHost((rpmsg) => {
      const tries: Record<string, unknown>[] = [
        { address: 1.5 }, { address: -1 }, { address: 2 ** 32 }, { address: '1024' }, { address: Number.NaN },
        { address: 53 }, { destination: -2 }, { destination: 0.5 }, { sendTimeout: -1 }, { name: 7 },
      ];
      for (const options of tries) {
        try {
          rpmsg.createEndpoint(options as never);
          codes.push('created');
        } catch (error) {
          codes.push((error as RpmsgError).code);
        }
      }
      rpmsg.createEndpoint({ address: 0 });
      rpmsg.createEndpoint({ address: 0xfffffffe });
    }));
    expect(codes).toEqual(['EINVAL', 'EINVAL', 'EINVAL', 'EINVAL', 'EINVAL', 'EBUSY', 'EINVAL', 'EINVAL', 'EINVAL', 'EINVAL']);
    expect(host.runtime.device.endpoints.list.map((e) => e.address)).toEqual([0, 0xfffffffe]);
  });
});

describe('OpenAMP\'s name-service address rules (item 9)', () => {
  it('announces only endpoints whose destination is not known; sends NS destroy only for announced addresses >= 1024', async () => {
    const endpoints: Endpoint[] = [];
    const host = (current = handHost((rpmsg) => {
      endpoints.push(rpmsg.createEndpoint({ name: 'dynamic' }));
      endpoints.push(rpmsg.createEndpoint({ name: 'fixed-low', address: 0x10 }));
      endpoints.push(rpmsg.createEndpoint({ name: 'knows-peer', destination: 0x401 }));
    }));
    host.boot();
    await tick();
    expect(announcements(host.received()).map((a) => `${a.name}@${a.addr.toString(16)}/${a.flags}`)).toEqual(['dynamic@400/0', 'fixed-low@10/0']);
    for (const endpoint of endpoints) endpoint.close();
    await tick();
    expect(announcements(host.received()).map((a) => `${a.name}@${a.addr.toString(16)}/${a.flags}`)).toEqual(['dynamic@400/1']);
  });

  it('refuses a vring da that is not a multiple of its align (EINVAL, counted): the used ring would be placed differently', async () => {
    const host = (current = handHost(echoApp));
    host.boot({ rxDa: 0x21000000 + host.rx + 0x800 });
    await tick(30);
    expect(host.runtime.hostReady).toBe(false);
    expect(host.runtime.errors.count('vring-misaligned')).toBe(1);
    expect(host.log.join('\n')).toMatch(/vdev vring 0: da 0x[0-9a-f]+ is not a multiple of its align 4096/);
  });
});

describe('messages to nobody are logged, rate-limited (item 8)', () => {
  it('logs "msg received with no recipient" with the addresses, at most 10 lines per 5 s, and says how many it left out', async () => {
    const host = (current = handHost(echoApp));
    host.boot();
    await tick();
    for (let i = 0; i < 15; i++) host.send(0x401, 0x999, 'lost');
    await tick(20);
    const lines = host.log.filter((line) => line.includes('msg received with no recipient'));
    expect(lines).toHaveLength(10);
    expect(lines[0]).toMatch(/host sent 4 bytes from 0x401 to 0x999, where no endpoint listens; dropped/);
    expect(host.runtime.statistics.unrouted).toBe(15);
    expect(host.runtime.errors.count('no-recipient')).toBe(15);
    expect(host.log.join('\n')).toMatch(/host ready \(features 0x1, vrings 256\/256\)/);
  });
});
