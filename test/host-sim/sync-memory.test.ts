import { describe, expect, it } from 'vitest';
import { SharedMemory } from '../../wire/shared-memory.ts';
import { encodeResourceTable } from '../../resource-table/index.ts';
import { LinuxHost, send, type RpmsgDevice } from '../../host-sim/index.ts';
import { BASE, MEMORY_SIZE, ScriptedRemote, rpmsgTable, text } from './scripted-remote.ts';

describe('ops.syncMemory: a transport whose SharedMemory is a copy of the real window', () => {
  it('pulls before and pushes after every host operation, and before each kick', async () => {
    const remote = new ScriptedRemote(0);
    const copy = new SharedMemory(new ArrayBuffer(MEMORY_SIZE), BASE);
    const directions: string[] = [];
    const seenAtKick: number[] = [];
    const host = new LinuxHost();
    const rproc = host.addRproc({
      memory: copy,
      ops: {
        ...remote.ops(),
        kick: (notifyid) => {
          remote.kicks.push(notifyid);
          // the remote must already see what the host wrote
          seenAtKick.push(remote.status() === 7 ? remote.availIdx(notifyid === 0 ? 0 : 1) : -1);
        },
        syncMemory(direction) {
          directions.push(direction);
          if (direction === 'pull') copy.bytes.set(remote.memory.bytes);
          else remote.memory.bytes.set(copy.bytes);
        },
      },
    });
    const table = encodeResourceTable(rpmsgTable());
    remote.tableSize = table.length;
    remote.memory.bytes.set(table, 0);
    await rproc.boot({ resourceTable: table, offset: 0 });
    expect(remote.status()).toBe(7);
    expect(seenAtKick).toEqual([256]);
    let device: RpmsgDevice | null = null;
    const received: string[] = [];
    host.rpmsg.registerRpmsgDriver({ name: 'd', idTable: ['d'], probe(d) { device = d; }, callback: (_d, data) => { received.push(text(data)); } });
    remote.announce('d', 0x400);
    rproc.vqInterrupt(0);
    expect(device).not.toBeNull();
    await send(device!.ept!, 'over the copy');
    const [message] = remote.receive();
    expect(text(message.data)).toBe('over the copy');
    remote.send(0x400, device!.src, Uint8Array.from([0x68, 0x69]));
    rproc.vqInterrupt(0);
    expect(received).toEqual(['hi']);
    expect(directions[0]).toBe('pull');
    expect(directions.at(-1)).toBe('push');
  });
});
