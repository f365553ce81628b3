/**
 * The VS Code extension in debug/vscode/ as VS Code uses it: its package.json registers the debugger
 * type that .vscode/launch.json names, with the attributes launch.json passes, and its program is
 * started the way VS Code starts a contributed adapter (`node adapter.cjs`, from a working directory
 * that is not the repository's) and answers DAP on its stdio.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { DapClient } from '../../debug/dap.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const extension = join(root, 'debug/vscode');

interface Debugger {
  type: string;
  program: string;
  runtime: string;
  configurationAttributes: Record<string, { properties: Record<string, unknown> }>;
}

const manifest = JSON.parse(readFileSync(join(extension, 'package.json'), 'utf8')) as { contributes: { debuggers: Debugger[] } };
/** .vscode/launch.json is JSON with comments (whole-line // comments only here). */
const launch = JSON.parse(readFileSync(join(root, '.vscode/launch.json'), 'utf8').split('\n').filter((line) => !/^\s*\/\//.test(line)).join('\n')) as {
  configurations: Record<string, unknown>[];
};

describe('the VS Code extension (debug/vscode)', () => {
  it('registers the type every launch.json configuration uses, with each attribute they pass', () => {
    const [contributed] = manifest.contributes.debuggers;
    expect(manifest.contributes.debuggers).toHaveLength(1);
    expect(existsSync(join(extension, contributed.program))).toBe(true);
    expect(contributed.runtime).toBe('node');
    for (const configuration of launch.configurations) {
      expect(configuration.type).toBe(contributed.type);
      const known = contributed.configurationAttributes[configuration.request as string];
      expect(known, `request ${String(configuration.request)}`).toBeDefined();
      const own = Object.keys(configuration).filter((key) => !['name', 'type', 'request', 'debugServer'].includes(key));
      for (const key of own) expect(Object.keys(known.properties), `${String(configuration.name)}: ${key}`).toContain(key);
    }
  });

  it('its program, started as VS Code starts it, answers initialize and ends on disconnect', async () => {
    const program = join(extension, manifest.contributes.debuggers[0].program);
    const adapter = spawn(process.execPath, [program], { cwd: tmpdir(), stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    adapter.stderr!.on('data', (chunk) => { stderr += chunk; });
    const exited = new Promise<number | null>((done) => adapter.on('exit', (code) => done(code)));
    try {
      const client = new DapClient(adapter.stdout!, adapter.stdin!);
      const initialized = client.waitForEvent('initialized');
      const capabilities = await client.request('initialize', { adapterID: 'xs-rpmsg', linesStartAt1: true, columnsStartAt1: true, pathFormat: 'path' });
      expect(capabilities.success, stderr).toBe(true);
      expect((capabilities.body as { supportsConfigurationDoneRequest: boolean }).supportsConfigurationDoneRequest).toBe(true);
      await initialized;
      await client.request('disconnect', {});
      expect(await exited, stderr).toBe(0);
    } finally {
      if (adapter.exitCode === null) adapter.kill('SIGKILL');
    }
  }, 60_000);
});
