/** Helpers of the end-to-end suite: the targets it runs against and a driver for the test app's control service. */
import { openSession, type Session, type TargetName } from '../../host-sim/session.ts';
import type { LinuxHost } from '../../host-sim/host.ts';
import { firmwareImage } from '../../launch/firmware-image.ts';
import { send, type RpmsgDevice, type RpmsgDriver } from '../../host-sim/rpmsg/rpmsg-core.ts';

/** Every target the suite knows; CI runs all that are built on this machine. */
export const TARGETS: TargetName[] = ['in-process', 'posix', 'qemu'];

/** Build what `target` needs for `app` (native targets: the XS firmware). */
export async function prepareTarget(target: TargetName, app: string): Promise<void> {
  if (target === 'qemu') await firmwareImage('qemu-mps2', app);
  if (target === 'posix') await firmwareImage('posix', app);
}

/** Text of bytes (Latin-1). */
export const text = (bytes: Uint8Array) => String.fromCharCode(...bytes);

/** Resolves when `condition()` holds, polling; rejects with `what` after `ms`. */
export async function until(condition: () => boolean, what: string, ms = 20000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** A host driver bound to the test app's control channel: send a command, await its reply. */
export interface Control {
  command(line: string): Promise<string>;
  device(): RpmsgDevice;
}

/** Register a driver on `host` that binds the control channel. */
export function controlDriver(host: LinuxHost): Control {
  let bound: RpmsgDevice | null = null;
  const replies: string[] = [];
  const driver: RpmsgDriver = {
    name: 'xs_rpmsg_test_control',
    idTable: ['xs-rpmsg-test-control'],
    probe(device) {
      bound = device;
    },
    remove(device) {
      if (bound === device) bound = null;
    },
    callback(_device, data) {
      replies.push(text(data));
    },
  };
  host.rpmsg.registerRpmsgDriver(driver);
  return {
    async command(line) {
      await until(() => bound !== null && bound.ept !== null, 'the control channel');
      const before = replies.length;
      await send(bound!.ept!, line);
      await until(() => replies.length > before, `a reply to "${line}"`);
      return replies[before];
    },
    device: () => bound!,
  };
}

/** Open a session with the e2e app and a control driver registered before boot. */
export async function openTestSession(target: TargetName, options: { txTimeoutMs?: number; beforeBoot?: (host: LinuxHost) => void } = {}): Promise<{ session: Session; control: Control }> {
  let control: Control | null = null;
  const session = await openSession({
    target,
    app: 'e2e',
    txTimeoutMs: options.txTimeoutMs,
    beforeBoot(host) {
      control = controlDriver(host);
      options.beforeBoot?.(host);
    },
  });
  return { session, control: control! };
}
