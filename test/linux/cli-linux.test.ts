/**
 * xs-rpmsg run --target linux: the app's posix remote behind a real Linux 6.1 kernel (UML);
 * channels, send and listen from another process go through /dev/rpmsg_ctrl0 and /dev/rpmsgN
 * in the guest (linux/guest-agent.py); SIGTERM powers the guest off and removes the session.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { cachedKernel } from '../../linux/uml.ts';
import { until } from '../e2e/harness.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = join(root, 'bin/xs-rpmsg.mjs');
const runtimeDir = mkdtempSync(join(tmpdir(), `xs-rpmsg-cli-linux-${process.pid}-`));
const env = { ...process.env, XS_RPMSG_RUNTIME_DIR: runtimeDir };
const kernel = cachedKernel();
const skip = !kernel ? 'no UML kernel in .cache/uml (bash linux/build-kernel.sh)' : !existsSync('/usr/bin/python3') ? 'no /usr/bin/python3 for the guest agent' : '';

const cli = (args: string[]) => spawnSync(process.execPath, [BIN, ...args], { cwd: root, env, encoding: 'utf8', timeout: 60000 });

afterAll(() => rmSync(runtimeDir, { recursive: true, force: true }));

describe('xs-rpmsg on the real kernel (run --target linux)', () => {
  it.skipIf(!!skip)('channels, send and listen through /dev/rpmsgN inside the guest; channels come and go; SIGTERM stops it cleanly', async () => {
    const run = spawn(process.execPath, [BIN, 'run', '--target', 'linux', '--app', 'e2e', '--session', `linux-${process.pid}`], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    run.stdout.on('data', (chunk) => { output += chunk; });
    run.stderr.on('data', (chunk) => { output += chunk; });
    const exited = new Promise<number | null>((r) => run.on('close', r));
    try {
      await until(() => /is up/.test(output) && /\+ channel xs-rpmsg-test-control/.test(output), 'the linux session up', 240000);
      expect(output).toMatch(/^\[\s*\d+\.\d+\] virtio_rpmsg_bus virtio0: creating channel rpmsg-client-sample addr 0x400$/m);

      const channels = JSON.parse(cli(['channels', '--json']).stdout) as { channels: { name: string; remote: number }[] };
      expect(channels.channels.map((c) => c.name).sort()).toEqual(['rpmsg-client-sample', 'xs-rpmsg-test-control', 'xs-zero-copy-deferred', 'xs-zero-copy-echo']); // the e2e app's services

      const echo = cli(['send', 'rpmsg-client-sample', 'hello from the CLI']);
      expect(echo.stdout, echo.stderr).toMatch(/^sent 18 bytes on rpmsg-client-sample \(\/dev\/rpmsg\d+ -> 0x400\)\nreply from 0x400 in \d+\.\d+ ms: "hello from the CLI"$/m);
      expect(cli(['send', 'rpmsg-client-sample', 'hex:00ff']).stdout).toMatch(/: hex:00ff$/m);

      // A channel the remote opens appears in the kernel log and the session's output, and is usable.
      expect(cli(['send', 'xs-rpmsg-test-control', 'open cli-probe']).stdout).toMatch(/"ok open cli-probe 0x[0-9a-f]+"/);
      await until(() => /\+ channel cli-probe/.test(output), 'cli-probe announced', 20000);
      expect(cli(['send', 'cli-probe', 'probe']).stdout).toMatch(/: "probe"$/m);

      // listen opens its own /dev/rpmsgN and ends with the client.
      const listener = spawn(process.execPath, [BIN, 'listen', 'cli-probe'], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
      let heard = '';
      listener.stdout.on('data', (chunk) => { heard += chunk; });
      await until(() => /listen: cli-probe through \/dev\/rpmsg\d+/.test(heard), 'the listener', 20000);
      listener.kill('SIGINT');
      await new Promise((r) => listener.on('close', r));

      expect(cli(['send', 'xs-rpmsg-test-control', 'close cli-probe']).stdout).toMatch(/"ok close cli-probe"/);
      await until(() => /- channel cli-probe/.test(output), 'cli-probe removed', 20000);
      expect(cli(['send', 'cli-probe', 'x', '--timeout', '500']).stderr).toMatch(/ENOENT: no channel cli-probe on the rpmsg bus/);
      expect(cli(['stats']).stderr).toMatch(/EINVAL: stats is not available on the linux target/);
    } finally {
      run.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    expect(output).toMatch(/reboot: Power down/);
    expect(output).toMatch(/run: stopped/);
    expect(readdirSync(join(runtimeDir, 'sessions'))).toEqual([]);
  }, 300000);
});
