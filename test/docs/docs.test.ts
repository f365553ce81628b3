// The docs name only things that exist: every repository path and command in docs/*.md and
// README.md; every error message an app meets is in docs/TROUBLESHOOTING.md; the API reference
// generates from the TSDoc comments (typedoc).
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../..');
const documents = ['README.md', ...readdirSync(join(root, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
const packageJson = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string>; devDependencies: Record<string, string> };

/** Inline code spans and code lines (indented or fenced) of a markdown text. */
function codeOf(text: string): string[] {
  const out: string[] = [];
  let fenced = false;
  for (const line of text.split('\n')) {
    if (line.startsWith('```')) { fenced = !fenced; continue; }
    if (fenced || /^( {4}|\t)/.test(line)) { out.push(line.trim()); continue; }
    for (const match of line.matchAll(/`([^`]+)`/g)) out.push(match[1]);
  }
  return out;
}

const topFolders = 'firmware|host-sim|launch|tools|test|docs|wire|resource-table|scripts|cli|bench|linux';
const pathPattern = new RegExp(`(?:^|[\\s(=,'"])((?:${topFolders})/[\\w./@-]*[\\w/]|(?:manifest|package|typedoc|tsconfig)\\.json|README\\.md)`, 'g');
/** Placeholders a path may hold: NAME, <app>, wildcards. */
const placeholder = /NAME|<|\*|\{|\$|\.\.\.|YOUR/;

/** Paths a document's own `xs-rpmsg new NAME` creates (test/readme/ runs the README's commands in order and checks them there). */
function createdBy(text: string): (path: string) => boolean {
  const names = [...text.matchAll(/xs-rpmsg new ([\w-]+)/g)].map((m) => m[1]);
  return (path) => names.some((name) => path.startsWith(`firmware/apps/${name}/`) || path === `test/apps/${name}.test.ts`);
}

function pathsIn(code: string): string[] {
  return [...code.matchAll(pathPattern)].map((m) => m[1].replace(/[.:,]+$/, '')).filter((p) => !placeholder.test(p));
}

describe('docs name only what exists', () => {
  it.each(documents)('%s: every repository path it names exists', (document) => {
    const text = readFileSync(join(root, document), 'utf8');
    // A line quoting a "does not exist" message names a missing path on purpose.
    const lines = [...codeOf(text), ...text.split('\n')].filter((line) => !/does not exist|there is no|not an executable|no such/.test(line));
    const created = createdBy(text);
    const missing = lines.flatMap(pathsIn).filter((path) => !created(path) && !existsSync(join(root, path)));
    expect([...new Set(missing)]).toEqual([]);
  });

  it.each(documents)('%s: every relative link exists', (document) => {
    const text = readFileSync(join(root, document), 'utf8');
    const missing = [...text.matchAll(/\]\(([^)#:\s]+)(#[^)]*)?\)/g)].map((m) => m[1]).filter((target) => !existsSync(resolve(root, dirname(document), target)));
    expect(missing).toEqual([]);
  });

  it.each(documents)('%s: every command names a script, file or tool that exists', (document) => {
    const text = readFileSync(join(root, document), 'utf8');
    const problems: string[] = [];
    const created = createdBy(text);
    for (const code of codeOf(text)) {
      for (const m of code.matchAll(/npx tsx (\S+)/g)) if (!placeholder.test(m[1]) && !existsSync(join(root, m[1]))) problems.push(code);
      for (const m of code.matchAll(/npm run ([\w:-]+)/g)) if (!(m[1] in packageJson.scripts)) problems.push(code);
      for (const m of code.matchAll(/npx vitest run ((?:test\/)\S*)/g)) if (!created(m[1]) && !existsSync(join(root, m[1]))) problems.push(code);
      for (const m of code.matchAll(/\bbash (\S+\.sh)/g)) if (!existsSync(join(root, m[1]))) problems.push(code);
      for (const m of code.matchAll(/npx (typedoc|tsc|vitest|esbuild)\b/g)) if (!existsSync(join(root, 'node_modules/.bin', m[1]))) problems.push(code);
    }
    expect(problems).toEqual([]);
  });

  it('no link to the team\'s design folder, which is not in the repository', () => {
    for (const document of documents) expect(readFileSync(join(root, document), 'utf8'), document).not.toMatch(/shared\/design/);
  });
});

/** The literal fragments of the messages a runtime error carries (`${...}` parts removed). */
function runtimeMessages(): { code: string; fragment: string }[] {
  const out: { code: string; fragment: string }[] = [];
  const walk = (dir: string): string[] => readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
  for (const file of [...walk(join(root, 'firmware/runtime')), ...walk(join(root, 'wire'))]) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/RpmsgError\('(E[A-Z]+)', (?:`([^`]*)`|'([^']*)')/g)) {
      const fragments = (m[2] ?? m[3]).split(/\$\{(?:[^{}]|\{[^}]*\})*\}/).map((f) => f.trim()).filter((f) => f.length >= 10);
      fragments.sort((a, b) => b.length - a.length);
      if (fragments.length > 0) out.push({ code: m[1], fragment: fragments[0] });
    }
  }
  return out;
}

describe('troubleshooting', () => {
  const troubleshooting = readFileSync(join(root, 'docs/TROUBLESHOOTING.md'), 'utf8');

  it('every error an app can meet from the runtime is there, under its errno', () => {
    const messages = runtimeMessages();
    expect(messages.length).toBeGreaterThan(20);
    const missing = messages.filter(({ code, fragment }) => !troubleshooting.includes(fragment) || !troubleshooting.includes(`## ${code}`)).map((m) => `${m.code}: ${m.fragment}`);
    expect(missing).toEqual([]);
  });

  it('the desk and crash messages are there too', () => {
    for (const text of ['error TS2345', "Cannot find name 'Buffer'", 'there is no app', 'CROSS_COMPILE=', 'memory full', 'unhandled exception', 'stack overflow', 'not restarting', 'app exception in', 'no stack: the engine keeps no line tables']) {
      expect(troubleshooting, text).toContain(text);
    }
  });
});

describe('API reference', () => {
  it('generates from the TSDoc comments with typedoc (typedoc.json), into a folder of build/', () => {
    const out = join(root, 'build', `api-test-${process.pid}`);
    try {
      const result = spawnSync('npx', ['typedoc', '--out', out], { cwd: root, encoding: 'utf8' });
      expect(result.status, result.stdout + result.stderr).toBe(0);
      const endpoint = readFileSync(join(out, 'classes', 'firmware_runtime_rpmsg_endpoint.Endpoint.html'), 'utf8');
      expect(endpoint).toContain('Send to <code>destination</code>, waiting up to sendTimeout for a TX buffer.');
      const text = readdirSync(join(out, 'functions')).join(' ');
      expect(text).toContain('utf8Decode');
      expect(existsSync(join(out, 'classes', 'host-sim.LinuxHost.html'))).toBe(true);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 180_000);
});
