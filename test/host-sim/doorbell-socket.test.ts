// The host end of the socket doorbell (host-sim/transports/doorbell-socket.ts) with its native
// watcher (host-sim/native/doorbell.c): every kick of the peer becomes an interrupt (merged per
// wakeup, by notifyid or one for all), kicks sent before the doorbell took the socket are not
// lost, the host's kicks reach the peer, the peer's close is reported once, and nothing is left
// open (descriptors of this process).
import { readdirSync, rmSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { SocketDoorbell } from '../../host-sim/transports/doorbell-socket.ts';
import type { Rproc } from '../../host-sim/remoteproc/remoteproc-core.ts';

const path = `/tmp/xs-rpmsg-doorbell-test-${process.pid}.sock`;
let server: Server | null = null;
const sockets: Socket[] = [];
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = null;
  rmSync(path, { force: true });
});

const openDescriptors = () => readdirSync('/proc/self/fd').length;
const until = async (test: () => boolean, ms = 2000) => {
  const deadline = Date.now() + ms;
  while (!test()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
};

/** A peer (the remote's side) and a connected host socket. */
async function pair(): Promise<{ peer: Socket; host: Socket; fromHost: number[] }> {
  rmSync(path, { force: true });
  const fromHost: number[] = [];
  let peer: Socket | null = null;
  server = createServer((socket) => {
    peer = socket;
    sockets.push(socket);
    socket.on('data', (data) => fromHost.push(...data));
  });
  await new Promise<void>((resolve) => server!.listen(path, resolve));
  const host = await new Promise<Socket>((resolve, reject) => {
    const socket = connect(path, () => resolve(socket));
    sockets.push(socket);
    socket.once('error', reject);
  });
  await until(() => peer !== null);
  return { peer: peer!, host, fromHost };
}

function recorder(): { rproc: Rproc; interrupts: (number | null)[] } {
  const interrupts: (number | null)[] = [];
  return { interrupts, rproc: { vqInterrupt: (id: number | null) => { interrupts.push(id); return true; } } as unknown as Rproc };
}

describe('the socket doorbell', () => {
  it('uses the native watcher here (Node headers are installed)', async () => {
    const { host } = await pair();
    const bell = new SocketDoorbell(false);
    bell.connect(host);
    expect((bell as unknown as { bell: object | null }).bell).not.toBeNull();
    bell.close();
  });

  it('OpenAMP convention: each wakeup is one interrupt for every vring, whatever the bytes', async () => {
    const { peer, host } = await pair();
    const { rproc, interrupts } = recorder();
    const bell = new SocketDoorbell(false);
    bell.attach(rproc);
    bell.connect(host);
    peer.write(Uint8Array.of(0, 1, 0, 9));
    await until(() => interrupts.length > 0);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(interrupts.every((id) => id === null)).toBe(true);
    expect(interrupts.length).toBeGreaterThanOrEqual(1);
    expect(interrupts.length).toBeLessThanOrEqual(4);
    bell.close();
  });

  it('qemu convention: one interrupt per notifyid seen in a wakeup, ids up to 255', async () => {
    const { peer, host } = await pair();
    const { rproc, interrupts } = recorder();
    const bell = new SocketDoorbell(true);
    bell.attach(rproc);
    bell.connect(host);
    peer.write(Uint8Array.of(1, 1, 0, 255, 1, 33));
    await until(() => new Set(interrupts).size === 4);
    expect(new Set(interrupts)).toEqual(new Set([0, 1, 33, 255]));
    bell.close();
  });

  it('more kicks queued than one read takes (64 bytes): every notifyid is still seen (a full read is followed by another)', async () => {
    const { peer, host } = await pair();
    const { rproc, interrupts } = recorder();
    const bell = new SocketDoorbell(true);
    bell.attach(rproc);
    peer.write(Uint8Array.from({ length: 200 }, (_, i) => i)); // queued before the watcher starts: one wakeup finds all 200
    await new Promise((resolve) => setTimeout(resolve, 20));
    bell.connect(host);
    await until(() => new Set(interrupts).size === 200);
    expect(Math.min(...(interrupts as number[])), 'ids').toBe(0);
    expect(Math.max(...(interrupts as number[]))).toBe(199);
    bell.close();
  });

  it('a kick sent before the doorbell took the socket is delivered', async () => {
    const { peer, host } = await pair();
    peer.write(Uint8Array.of(1)); // Node reads it into the socket's buffer (no listener yet)
    await until(() => host.readableLength > 0);
    const { rproc, interrupts } = recorder();
    const early = new SocketDoorbell(true);
    early.attach(rproc);
    early.connect(host);
    peer.write(Uint8Array.of(2));
    await until(() => interrupts.includes(2) && interrupts.includes(1));
    early.close();
  });

  it("the host's kicks reach the peer, many in a row", async () => {
    const { host, fromHost } = await pair();
    const bell = new SocketDoorbell(false);
    bell.connect(host);
    for (let i = 0; i < 1000; i++) bell.kick(i);
    await until(() => fromHost.length === 1000);
    expect(fromHost.slice(0, 4)).toEqual([0, 1, 2, 3]);
    bell.close();
  });

  it("the peer's close is reported once; close() is idempotent; no descriptor is left open", async () => {
    await new Promise((resolve) => setTimeout(resolve, 50)); // the earlier tests' sockets closed
    const before = openDescriptors();
    const { peer, host } = await pair();
    const bell = new SocketDoorbell(false);
    let closes = 0;
    bell.onClose = () => closes++;
    bell.connect(host);
    peer.destroy();
    await until(() => closes === 1);
    bell.close();
    bell.close();
    bell.kick(1); // after the close: nothing happens
    await new Promise<void>((resolve) => server!.close(() => resolve()));
    server = null;
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(closes).toBe(1);
    expect(openDescriptors()).toBe(before);
  });
});
