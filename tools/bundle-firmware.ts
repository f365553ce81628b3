/** Bundle the remote runtime and an app into one classic script for the XS engine. */
import { build, type Plugin } from 'esbuild';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Fails the bundle on any Node API: code that runs on XS must not use one. */
export const forbidNodeApis: Plugin = {
  name: 'forbid-node-apis',
  setup(pluginBuild) {
    pluginBuild.onResolve({ filter: /^node:|^(fs|path|os|net|child_process|worker_threads|buffer|process|url|util|events|stream|crypto|timers)$/ }, (args) => ({
      errors: [{ text: `"${args.path}" is a Node API, imported by ${args.importer}; firmware code runs on XS and must not use Node APIs` }],
    }));
  },
};

/** The apps that exist: the folders of firmware/apps/ with a main.ts. */
export function availableApps(): string[] {
  const dir = resolve(root, 'firmware/apps');
  return readdirSync(dir).filter((name) => existsSync(resolve(dir, name, 'main.ts'))).sort();
}

/**
 * The entry file of `app`: a name (firmware/apps/NAME/main.ts) or a path to a .ts file. An
 * unknown name throws an error naming `from` (where the name came from) and the apps that exist.
 */
export function appEntry(app: string, from = 'the app name'): string {
  if (app.endsWith('.ts')) {
    const path = resolve(app);
    if (!existsSync(path)) throw new Error(`${from}: app file ${path} does not exist`);
    return path;
  }
  const path = resolve(root, 'firmware/apps', app, 'main.ts');
  // A folder given relative to firmware/apps/ (the test fixtures' apps) is taken as it is.
  if (app.includes('/') && existsSync(path)) return path;
  if (!/^[A-Za-z0-9._-]+$/.test(app) || !existsSync(path)) {
    throw new Error(`${from}: there is no app "${app}" (no firmware/apps/${app}/main.ts); the apps are: ${availableApps().join(', ')}`);
  }
  return path;
}

/**
 * The app named in manifest.json (`"app": { "name": "echo" }` -> firmware/apps/echo/main.ts, or a
 * path ending in .ts, relative to the manifest), checked to exist.
 */
export function manifestApp(manifestPath = resolve(root, 'manifest.json')): string {
  const nearby = relative(process.cwd(), manifestPath);
  const shown = nearby === '' || nearby.startsWith('..') ? manifestPath : nearby;
  let manifest: { app?: { name?: unknown } };
  try {
    manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { app?: { name?: unknown } };
  } catch (error) {
    throw new Error(`${shown}: ${(error as Error).message}`);
  }
  const name = manifest.app?.name ?? 'echo';
  if (typeof name !== 'string') throw new Error(`${shown}: "app.name" must be a string naming a folder of firmware/apps/ (${availableApps().join(', ')})`);
  if (name.endsWith('.ts')) return appEntry(resolve(dirname(manifestPath), name), `${shown} "app.name"`);
  appEntry(name, `${shown} "app.name"`);
  return name;
}

/** The bundle as text plus its source map (JSON text, absolute source paths), for the in-process target's context; `sourceFile` is a plain file name. */
export async function bundleFirmwareScript(app: string, entry = 'firmware/platform/xs/xs-entry.ts', sourceFile = 'firmware.js'): Promise<{ code: string; map: string }> {
  const result = await build({
    entryPoints: [resolve(root, entry)],
    bundle: true,
    format: 'iife',
    platform: 'neutral',
    target: 'es2022',
    write: false,
    outfile: resolve(root, 'build', sourceFile),
    sourcemap: 'external',
    minify: false,
    legalComments: 'none',
    alias: { 'xs-rpmsg-app': appEntry(app) },
    define: { process: 'undefined', Buffer: 'undefined', require: 'undefined', __dirname: 'undefined', __filename: 'undefined' },
    plugins: [forbidNodeApis],
    logLevel: 'silent',
  });
  const code = result.outputFiles.find((file) => file.path.endsWith('.js'))!.text;
  // Sources as absolute paths (esbuild writes them relative to the output file's folder).
  const map = JSON.parse(result.outputFiles.find((file) => file.path.endsWith('.map'))!.text) as { sources: string[] };
  map.sources = map.sources.map((source) => resolve(root, 'build', source));
  return { code, map: JSON.stringify(map) };
}

/** Bundle firmware/platform/xs-entry.ts with `app` into `outFile`; returns the script text. */
export async function bundleFirmware(outFile: string, app = manifestApp()): Promise<string> {
  const entry = appEntry(app);
  const result = await build({
    entryPoints: [resolve(root, 'firmware/platform/xs/xs-entry.ts')],
    bundle: true,
    format: 'iife',
    platform: 'neutral',
    target: 'es2022',
    write: false,
    minify: false,
    legalComments: 'none',
    // FILE.js.map: the precompiler reports syntax and early errors at the TypeScript source
    sourcemap: 'external',
    outfile: outFile,
    alias: { 'xs-rpmsg-app': entry },
    // No reference to Node globals may survive: they do not exist on XS.
    define: { process: 'undefined', Buffer: 'undefined', require: 'undefined', __dirname: 'undefined', __filename: 'undefined' },
    plugins: [forbidNodeApis],
    logLevel: 'silent',
  });
  const map = result.outputFiles.find((file) => file.path.endsWith('.map'));
  const js = result.outputFiles.find((file) => file !== map);
  if (!js || !map) throw new Error('esbuild returned no script or no source map');
  const text = js.text;
  mkdirSync(dirname(outFile), { recursive: true });
  writeFileSync(outFile, text);
  writeFileSync(`${outFile}.map`, map.text);
  return text;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const out = resolve(process.argv[2] ?? resolve(root, 'build/firmware.js'));
  let app: string;
  try {
    app = process.argv[3] ?? manifestApp();
  } catch (error) {
    console.error(`bundle-firmware: ${(error as Error).message}`);
    process.exit(1);
  }
  bundleFirmware(out, app).then(
    (text) => console.log(`bundled app "${app}" (${text.length} bytes)\n${out}`),
    (error: Error) => {
      console.error(`bundle-firmware: ${error.message}`);
      process.exit(1);
    },
  );
}
