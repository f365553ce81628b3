/**
 * What a real Linux 6.1 host does to a remote that the happy-path suite (rpmsg-host.test.ts)
 * does not: floods through /dev/rpmsgN, 64 endpoints at once through rpmsg_ctrl, 0-byte writes
 * and writes to an address nobody listens at, a host killed in the middle of a burst, and
 * virtio_rpmsg_bus unbound and bound again through sysfs, idle and with traffic in flight.
 * Every rpmsg error line of the kernel (linux/uml.ts RPMSG_PROBLEMS) fails a test unless the
 * test provokes it on purpose and names it.
 *
 * XSR_LINUX_FLOOD=N sizes the flood. Default 50,000 messages (10-30 s here); the 100,000 take
 * 33-62 s on this 2-core machine depending on load, over the suite's budget: XSR_LINUX_FLOOD=100000.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  bootUml,
  buildKernel,
  guestLines,
  kernelProblems,
  startRemote,
  type BootResult,
  type KernelBuild,
  type RemoteCommand,
} from '../../linux/uml.ts';
import { linuxRemote } from './remote.ts';

const SETUP_MS = 900_000; // a cold kernel build plus a cold XS build
const FLOOD = Number(process.env.XSR_LINUX_FLOOD ?? 50_000);
const FLOOD_WINDOW = 128;
const BURST = 10_000;

let kernel: KernelBuild;
let remote: RemoteCommand | null = null;
let skipReason = '';

beforeAll(async () => {
  kernel = await buildKernel(() => {});
  const found = await linuxRemote();
  if ('skip' in found) skipReason = found.skip;
  else remote = found.remote;
}, SETUP_MS);

/** Problem lines without their printk timestamps, each once, with a count when repeated. */
function problemSummary(lines: string[]): string[] {
  const counts = new Map<string, number>();
  for (const line of lines) {
    const text = line.replace(/^\[\s*\d+\.\d+\]\s*/, '');
    counts.set(text, (counts.get(text) ?? 0) + 1);
  }
  return [...counts].map(([text, count]) => (count > 1 ? `${text} (x${count})` : text));
}

/** What a failure message shows: the guest's lines, the kernel's problem lines (summarised), the remote's log. */
function explain(result: BootResult, remoteLog = result.remoteLog): string {
  const guest = guestLines(result).filter((line) => !/^rpmsg-char: (burst \d+ received|created endpoint xsr-ep-)/.test(line));
  return `guest:\n${guest.join('\n')}\nkernel problems:\n${problemSummary(kernelProblems(result.log)).join('\n')}\n` +
    `rpmsg kernel lines:\n${result.lines.filter((line) => /virtio_rpmsg_bus|rpmsg_ctrl|rpmsg_client_sample/.test(line)).slice(-40).join('\n')}\n` +
    `remote log:\n${remoteLog.split('\n').slice(-60).join('\n')}`;
}

/** The guest lines matching `pattern`. */
function guestMatching(result: BootResult, pattern: RegExp): string[] {
  return guestLines(result).filter((line) => pattern.test(line));
}

/** Lines of `text` matching `pattern`. */
function linesMatching(text: string, pattern: RegExp): string[] {
  return text.split('\n').filter((line) => pattern.test(line));
}

/** The lines of `text` after the line containing `after` and before the one containing `before` (the console is one ordered stream: kernel and init lines interleaved). */
function linesBetween(text: string, after: string, before: string): string {
  const lines = text.split('\n');
  const start = lines.findIndex((line) => line.includes(after));
  const end = lines.findIndex((line, i) => i > start && line.includes(before));
  return start < 0 || end < 0 ? '' : lines.slice(start + 1, end).join('\n');
}

/** "incoming msg N" numbers the kernel sample logged. */
function sampleMessages(result: BootResult): number[] {
  return result.lines.flatMap((line) => {
    const match = /rpmsg_client_sample .*: incoming msg (\d+) \(src: 0x400\)/.exec(line);
    return match ? [Number(match[1])] : [];
  });
}

/** The one kernel line the unknown-address send provokes, on purpose. */
const NO_RECIPIENT = /virtio_rpmsg_bus virtio0: msg received with no recipient/;
/** The write the stall step lets time out, on purpose. */
const TX_TIMEOUT = /rpmsg_ctrl virtio0\.rpmsg_ctrl\.0\.0: timeout waiting for a tx buffer/;
/** The 497-byte write of the char step, on purpose. */
const TOO_BIG = /rpmsg_ctrl virtio0\.rpmsg_ctrl\.0\.0: message is too big \(497\)/;

describe('Linux 6.1 against the XS remote: flood, many endpoints, bad input', () => {
  let boot: BootResult;

  beforeAll(async () => {
    if (!remote) return;
    boot = await bootUml({
      kernel,
      remote,
      steps: ['online', 'flood', 'burst', 'many', 'zero', 'unknown', 'send', 'stall'],
      initParameters: { xsr_flood: `${FLOOD}:${FLOOD_WINDOW}`, xsr_burst: `${BURST}:496`, xsr_many: '64:10', xsr_unknown: '0x7777', xsr_send: '0x7000' },
      timeoutMs: 180_000,
    });
    for (const line of guestMatching(boot, /rpmsg-char: (flood \d+ sent|burst of)/)) process.stdout.write(`[linux flood] ${line}\n`);
  }, 210_000);

  it(`floods ${FLOOD} numbered, checksummed messages of 12..496 bytes through /dev/rpmsgN to the echo service: none lost, duplicated, reordered or corrupted`, (context) => {
    if (!remote) return context.skip(skipReason);
    expect(boot.poweredOff, explain(boot)).toBe(true);
    const report = guestMatching(boot, /^rpmsg-char: flood \d+ sent/);
    expect(report, explain(boot)).toHaveLength(1);
    expect(report[0]).toMatch(new RegExp(`^rpmsg-char: flood ${FLOOD} sent, ${FLOOD} received, 0 lost, 0 duplicated, 0 reordered, 0 corrupted, `));
    expect(guestLines(boot)).toContain('xsr-init: step flood ok');
  });

  it(`receives a ${BURST}-message burst from the remote (sequence numbers, every byte checked) with nothing lost`, (context) => {
    if (!remote) return context.skip(skipReason);
    expect(guestMatching(boot, /^rpmsg-char: burst of/), explain(boot)).toEqual([
      expect.stringMatching(new RegExp(`^rpmsg-char: burst of ${BURST} x 496 bytes: ${BURST} received, 0 lost, 0 duplicated, 0 reordered, 0 corrupted, `)),
    ]);
    expect(guestLines(boot)).toContain('xsr-init: step burst ok');
  });

  it('holds 64 rpmsg_ctrl endpoints open at once, each echo arriving on its own endpoint, and destroys all 64', (context) => {
    if (!remote) return context.skip(skipReason);
    const guest = guestLines(boot);
    expect(guest, explain(boot)).toContain('rpmsg-char: 64 of 64 endpoints open at once');
    expect(guest).toContain('rpmsg-char: 64 endpoints x 10 rounds: 640 echoes on their own endpoint, 0 wrong or missing');
    expect(guest).toContain('rpmsg-char: 64 of 64 endpoint devices removed');
    expect(guest).toContain('xsr-init: step many ok');
  });

  it('echoes a 0-byte write (a bare rpmsg header) as a 0-byte message and keeps working', (context) => {
    if (!remote) return context.skip(skipReason);
    const guest = guestLines(boot);
    expect(guest, explain(boot)).toContain('rpmsg-char: write of 0 bytes returned 0');
    expect(guest).toContain('rpmsg-char: echo of the 0-byte message: 0 bytes');
    expect(guest).toContain('rpmsg-char: 5-byte round trip after the 0-byte write ok');
    expect(guest).toContain('xsr-init: step zero ok');
  });

  it('counts and logs a host message to an address where nothing listens (0x7777), answers nothing, keeps serving', (context) => {
    if (!remote) return context.skip(skipReason);
    const guest = guestLines(boot);
    expect(guest, explain(boot)).toContain('rpmsg-char: write of 11 bytes to 0x7777 (nobody listens) returned 11');
    expect(guest).toContain('rpmsg-char: no reply from 0x7777 within 1 s');
    expect(guest.some((line) => /^rpmsg-char: reply "ok stats .*unrouted=1 /.test(line))).toBe(true);
    expect(guest).toContain('xsr-init: step unknown ok');
    // Linux logs "msg received with no recipient" for this; the remote must log it too, naming the address (issue 9 item 8).
    expect(linesMatching(boot.remoteLog, /0x7777/).filter((line) => /recipient|nothing listens|no endpoint|unrouted/i.test(line)), explain(boot)).toHaveLength(1);
  });

  it('makes Linux log "msg received with no recipient" once for a remote message to a host address nobody holds (declared)', (context) => {
    if (!remote) return context.skip(skipReason);
    expect(guestLines(boot), explain(boot)).toContain('rpmsg-char: reply "ok send 0x7000 16"');
    expect(guestLines(boot)).toContain('xsr-init: step send ok');
    // Counted within the send step only: the stall step after it may legitimately add one more when the
    // remote, resuming, echoes a message whose endpoint the guest closed after its write timed out (seen on a loaded machine).
    expect(linesMatching(linesBetween(boot.log, 'xsr-init: step unknown ok', 'xsr-init: step send ok'), NO_RECIPIENT), explain(boot)).toHaveLength(1);
  });

  it('a remote that stops taking messages: 256 writes take every TX buffer, the 257th fails after 15 s with errno 512 (ERESTARTSYS leaks to userspace), then all 256 are echoed in order', (context) => {
    if (!remote) return context.skip(skipReason);
    const guest = guestLines(boot);
    expect(guest, explain(boot)).toContain('rpmsg-char: reply "ok pause 17000"');
    const report = guest.find((line) => line.startsWith('rpmsg-char: 256 writes went through'));
    expect(report, explain(boot)).toMatch(/^rpmsg-char: 256 writes went through; write 257 failed after 1[5-6]\d{3} ms: errno 512 \(ERESTARTSYS leaked/);
    expect(guest).toContain('rpmsg-char: 256 of 256 stalled messages echoed in order once the remote took messages again');
    expect(linesMatching(boot.log, TX_TIMEOUT)).toHaveLength(1); // declared: Linux logs the timed-out send
    expect(guest).toContain('xsr-init: step stall ok');
  });

  it('leaves no other rpmsg error line and no kernel fault in the whole boot', (context) => {
    if (!remote) return context.skip(skipReason);
    expect(problemSummary(kernelProblems(boot.log, [NO_RECIPIENT, TX_TIMEOUT])), explain(boot)).toEqual([]);
    expect(guestLines(boot).filter((line) => /FAIL/.test(line))).toEqual([]);
    expect(boot.remoteExitCode).toBe(null); // still serving at power-off
  });
});

describe('a host killed in the middle of a remote burst, then the next boot on the same remote', () => {
  const folder = mkdtempSync(join(tmpdir(), `xsr-linux-kill-${process.pid}-`));
  afterAll(() => rmSync(folder, { recursive: true, force: true }));

  it('the next boot is clean: no message of the old session arrives, the sample and rpmsg_char work', async (context) => {
    if (!remote) return context.skip(skipReason);
    const running = await startRemote(remote, join(folder, 'vhost-user.sock'));
    try {
      const killed = await bootUml({
        kernel,
        socketPath: running.socketPath,
        steps: ['online', 'burst'],
        initParameters: { xsr_burst: '1000000:496' },
        killOn: /^rpmsg-char: burst 3000 received/,
        timeoutMs: 60_000,
      });
      expect(killed.killedAt, explain(killed, running.log)).toBe('rpmsg-char: burst 3000 received');
      expect(problemSummary(kernelProblems(killed.log)), explain(killed, running.log)).toEqual([]);
      // The next host: it idles a second (time for a leaked burst to show), then the sample and the char round trips.
      const next = await bootUml({ kernel, socketPath: running.socketPath, steps: ['online', 'sleep', 'sample', 'char'], timeoutMs: 60_000 });
      expect(next.poweredOff, explain(next, running.log)).toBe(true);
      expect(problemSummary(kernelProblems(next.log, [TOO_BIG])), explain(next, running.log)).toEqual([]);
      expect(sampleMessages(next)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
      expect(guestLines(next).some((line) => /^rpmsg-char: 496\/496 round trips ok/.test(line)), explain(next, running.log)).toBe(true);
      expect(guestLines(next)).toContain('xsr-init: step char ok');
      expect(running.exitCode).toBe(null);
    } finally {
      await running.stop();
    }
  }, 150_000);
});

describe('virtio_rpmsg_bus unbound from virtio0 and bound again through sysfs while the remote runs', () => {
  /** The guest lines after the rebind, and the checks every rebind case makes. */
  function expectChannelsBack(result: BootResult, label: string): void {
    const guest = guestLines(result);
    const bound = guest.indexOf('xsr-init: virtio_rpmsg_bus bound to virtio0 again');
    expect(guest, explain(result)).toContain('xsr-init: virtio_rpmsg_bus unbound from virtio0');
    expect(bound, explain(result)).toBeGreaterThan(0);
    const after = guest.slice(bound);
    expect(after, explain(result)).toContain('rpmsg-char: channel rpmsg-client-sample present');
    expect(after).toContain('rpmsg-char: channel xs-rpmsg-test-control present');
    expect(after.some((line) => line.startsWith('rpmsg-char: 64/64 round trips ok, sizes 1..64'))).toBe(true);
    expect(after.some((line) => /^rpmsg-char: reply "ok stats /.test(line))).toBe(true);
    expect(guest).toContain(`xsr-init: step ${label} ok`);
    // The channels were destroyed with the old bus and created again on the new one (the probe runs inside the bind write).
    const kernelAfter = result.log.slice(result.log.indexOf('xsr-init: virtio_rpmsg_bus unbound from virtio0'));
    expect(kernelAfter).toContain('virtio_rpmsg_bus virtio0: rpmsg host is online');
    expect(kernelAfter).toContain('virtio_rpmsg_bus virtio0: creating channel rpmsg-client-sample addr 0x400');
    expect(kernelAfter).toMatch(/creating channel xs-rpmsg-test-control addr 0x[0-9a-f]+/);
  }

  for (const holdMs of [100, 0]) {
    it(`every channel comes back after an idle unbind, ${holdMs} ms, bind`, async (context) => {
      if (!remote) return context.skip(skipReason);
      const result = await bootUml({ kernel, remote, steps: ['online', 'rebind'], initParameters: { xsr_unbind_ms: String(holdMs) }, timeoutMs: 60_000 });
      expect(problemSummary(kernelProblems(result.log, [TOO_BIG])), explain(result)).toEqual([]);
      expect(result.poweredOff, explain(result)).toBe(true);
      expectChannelsBack(result, 'rebind');
    }, 90_000);
  }

  it('with a flood to the echo service and a burst from the remote in flight: both end, every channel comes back, no stale message arrives', async (context) => {
    if (!remote) return context.skip(skipReason);
    const result = await bootUml({ kernel, remote, steps: ['online', 'inflight'], timeoutMs: 90_000 });
    // rpmsg_remove resets the device (over vhost-user only UML sees that), removes the channels and their endpoints,
    // and only then deletes the virtqueues: the remote's messages in flight meanwhile are "no recipient". Declared for
    // that window only (from the unbind to the new bus's "rpmsg host is online"); not one afterwards.
    const unbind = result.lines.findIndex((line) => line.startsWith('xsr-init: traffic in flight'));
    const online = result.lines.findIndex((line, index) => index > unbind && /virtio_rpmsg_bus virtio0: rpmsg host is online/.test(line));
    const outsideWindow = result.lines.filter((line, index) => !(unbind >= 0 && index > unbind && (online < 0 || index < online) && NO_RECIPIENT.test(line)));
    expect(problemSummary(kernelProblems(outsideWindow.join('\n'), [TOO_BIG])), explain(result)).toEqual([]);
    expect(result.poweredOff, explain(result)).toBe(true);
    const guest = guestLines(result);
    expect(guest.some((line) => /^xsr-init: traffic in flight: \d+ burst lines/.test(line)), explain(result)).toBe(true);
    // The endpoints died with the bus: both background exercises ended with an error, each closing (not destroying) its fd.
    expect(guest.find((line) => line.startsWith('xsr-init: background flood exit')), explain(result)).toMatch(/^xsr-init: background flood exit [1-9]\d*, burst exit [1-9]\d*$/);
    expectChannelsBack(result, 'inflight');
  }, 120_000);
});
