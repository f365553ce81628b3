/**
 * Host kicks of vring 1 against host messages (issue 15 item 5): N pipelined host sends to the echo
 * service, counting VirtprocInfo txKicks. npx tsx bench/vring1-kicks.ts [posix|qemu]
 */
import { openSession } from '../host-sim/session.ts';
import { createEndpoint, send, type RpmsgDevice, type RpmsgDriver } from '../host-sim/rpmsg/rpmsg-core.ts';
const target = (process.argv[2] ?? 'posix') as 'posix' | 'qemu';
let bound: RpmsgDevice | null = null;
const driver: RpmsgDriver = { name: 'k', idTable: ['rpmsg-client-sample'], probe: (d) => { bound = d; }, callback() {} };
const s = await openSession({ target, app: 'e2e', beforeBoot: (h) => h.rpmsg.registerRpmsgDriver(driver) });
while (!bound || !(bound as RpmsgDevice).ept) await new Promise((r) => setTimeout(r, 10));
let echoes = 0;
const ept = createEndpoint(bound as RpmsgDevice, () => { echoes++; });
const N = 20000;
const stats = s.host.rpmsgTransports(s.rproc)[0].statistics;
const before = { ...stats };
const sends: Promise<void>[] = [];
for (let i = 0; i < N; i++) sends.push(send(ept, `m${i}`));
await Promise.all(sends);
while (echoes < N) await new Promise((r) => setTimeout(r, 10));
console.log(`${target}: ${N} pipelined host sends: txMessages ${stats.txMessages - before.txMessages}, txKicks ${stats.txKicks - before.txKicks}`);
await s.close();
