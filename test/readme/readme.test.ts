/**
 * The README, as a new user follows it: every command of its ```sh blocks, in order, in a
 * fresh copy of the project (the tracked files, plus node_modules, the shared .cache and the
 * compiled XS engine objects, so that only the apps' firmware is built). Before each command
 * the paths it names exist; after it the paths its comment promises exist; at the end every
 * project path the README names exists. `bash scripts/test.sh` is the one command skipped
 * (it is the suite this test belongs to).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const SKIPPED = new Set(['bash scripts/test.sh']);

/** One README command: the shell text and its comment. */
interface Step {
  command: string;
  comment: string;
}

/** The commands of the README's sh blocks, in order. */
export function readmeSteps(text: string): Step[] {
  const steps: Step[] = [];
  for (const block of text.matchAll(/```sh\n([\s\S]*?)```/g)) {
    for (const line of block[1].split('\n')) {
      if (!line.trim() || line.trim().startsWith('#')) continue;
      const split = /\s{2,}#\s/.exec(line);
      steps.push({ command: (split ? line.slice(0, split.index) : line).trim(), comment: split ? line.slice(split.index + split[0].length) : '' });
    }
  }
  return steps;
}

/** Project paths named in `text` (first segment a top-level folder of the project; no placeholders). */
export function projectPaths(text: string, topLevel: Set<string>): string[] {
  const found = new Set<string>();
  for (const token of text.split(/[\s`'"()[\]{},;|]+/)) {
    const path = token.replace(/[.:]+$/, '');
    if (!/^[\w.-]+(\/[\w.-]+)+\/?$/.test(path)) continue;
    if (!topLevel.has(path.split('/')[0])) continue;
    found.add(path);
  }
  return [...found];
}

/** A persistent bash in the copy: each command's status and output, shell variables kept between commands. */
class Shell {
  private readonly child: ChildProcess;
  private stdout = '';
  private stderr = '';

  constructor(cwd: string, env: NodeJS.ProcessEnv) {
    this.child = spawn('bash', ['--noprofile', '--norc'], { cwd, env, stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stdout!.on('data', (chunk) => { this.stdout += chunk; });
    this.child.stderr!.on('data', (chunk) => { this.stderr += chunk; });
  }

  async run(command: string, timeoutMs: number): Promise<{ status: number; stdout: string; stderr: string }> {
    const marker = `__readme_step_done_${Date.now()}__`;
    this.stdout = '';
    this.stderr = '';
    this.child.stdin!.write(`${command}\nprintf '\\n${marker} %s\\n' "$?"\n`);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = new RegExp(`\\n${marker} (\\d+)\\n`).exec(this.stdout);
      if (m) return { status: Number(m[1]), stdout: this.stdout.slice(0, m.index), stderr: this.stderr };
      if (Date.now() > deadline) throw new Error(`"${command}" did not finish within ${timeoutMs} ms:\n${this.stdout}\n${this.stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  close(): void {
    this.child.kill('SIGKILL');
  }
}

/** Copy the project's tracked (and new, not ignored) files into `to`; share node_modules, .cache and the XS engine objects. */
function freshCopy(to: string): void {
  const files = spawnSync('git', ['ls-files', '-co', '--exclude-standard', '-z'], { cwd: root, encoding: 'utf8' }).stdout.split('\0').filter(Boolean);
  for (const file of files) {
    const source = join(root, file);
    if (!existsSync(source) || !statSync(source).isFile()) continue;
    mkdirSync(dirname(join(to, file)), { recursive: true });
    copyFileSync(source, join(to, file));
  }
  symlinkSync(realpathSync(join(root, 'node_modules')), join(to, 'node_modules'));
  if (existsSync(join(root, '.cache'))) symlinkSync(realpathSync(join(root, '.cache')), join(to, '.cache'));
  if (existsSync(join(root, 'build/xs-engine'))) {
    mkdirSync(join(to, 'build'), { recursive: true });
    symlinkSync(realpathSync(join(root, 'build/xs-engine')), join(to, 'build/xs-engine'));
  }
}

describe('README.md, followed command by command from a fresh copy', () => {
  const copy = mkdtempSync(join(tmpdir(), `xs-rpmsg-readme-${process.pid}-`));
  const runtimeDir = join(copy, '.runtime');
  const env = { ...process.env, XS_RPMSG_RUNTIME_DIR: runtimeDir };
  let background: ChildProcess | null = null;
  let shell: Shell | null = null;

  afterAll(() => {
    shell?.close();
    if (background && background.exitCode === null) background.kill('SIGKILL');
    rmSync(copy, { recursive: true, force: true });
  });

  it('parses: its first two commands are the demo and the test script, and it has the loop past the demo', () => {
    const steps = readmeSteps(readFileSync(join(root, 'README.md'), 'utf8')).map((s) => s.command);
    expect(steps.slice(0, 2)).toEqual(['bash scripts/demo.sh', 'bash scripts/test.sh']);
    for (const verb of ['new', 'build', 'run', 'send', 'decode']) expect(steps.some((s) => s.startsWith(`npx xs-rpmsg ${verb} `))).toBe(true);
  });

  it('every command works in order, and every path it names exists when it needs it', async () => {
    freshCopy(copy);
    const readme = readFileSync(join(copy, 'README.md'), 'utf8');
    const topLevel = new Set(readdirSync(copy).concat(['build']));
    shell = new Shell(copy, env);
    const transcript: string[] = [];
    for (const step of readmeSteps(readme)) {
      if (SKIPPED.has(step.command)) continue;
      for (const path of projectPaths(step.command, topLevel)) {
        expect(existsSync(join(copy, path)), `"${step.command}" names ${path}, which does not exist after the commands before it`).toBe(true);
      }
      if (/^terminal 1:/.test(step.comment)) {
        // The long-running one: started in the background; the next commands are the second terminal.
        background = spawn('bash', ['-c', step.command], { cwd: copy, env, stdio: ['ignore', 'pipe', 'pipe'] });
        let output = '';
        background.stdout!.on('data', (chunk) => { output += chunk; });
        background.stderr!.on('data', (chunk) => { output += chunk; });
        const deadline = Date.now() + 300000;
        while (!/\+ channel \S+/.test(output) || !/is up/.test(output)) {
          if (background.exitCode !== null || Date.now() > deadline) throw new Error(`"${step.command}" did not come up:\n${output}`);
          await new Promise((r) => setTimeout(r, 100));
        }
        transcript.push(`$ ${step.command} &\n${output}`);
        continue;
      }
      const result = await shell.run(step.command, 600000);
      transcript.push(`$ ${step.command}\n${result.stdout}${result.stderr}`);
      expect(result.status, `"${step.command}" failed:\n${result.stdout}\n${result.stderr}`).toBe(0);
      for (const path of projectPaths(step.comment, topLevel)) {
        expect(existsSync(join(copy, path)), `"${step.command}" promises ${path}, which it did not make`).toBe(true);
      }
      if (step.command === 'bash scripts/demo.sh') expect(result.stdout).toMatch(/^demo: 100\/100 echoed on rpmsg-client-sample by app "echo" on qemu/m);
      if (step.command.startsWith('npx xs-rpmsg send sensor hello')) expect(result.stdout).toMatch(/: "HELLO"$/m);
      if (step.command.startsWith('python3 -c')) expect(result.stdout.trim()).toBe("b'FROM PYTHON'");
      if (step.command === 'npx xs-rpmsg stop') {
        const exited = await new Promise((r) => {
          if (background!.exitCode !== null) r(background!.exitCode);
          background!.on('close', r);
          setTimeout(() => r('still running'), 30000);
        });
        expect(exited).toBe(0);
      }
    }
    expect(transcript.length).toBeGreaterThan(8);
    // Every project path the README names exists once its commands have run.
    const missing = projectPaths(readme, topLevel).filter((path) => !existsSync(join(copy, path)));
    expect(missing, transcript.join('\n')).toEqual([]);
  }, 900000);
});
