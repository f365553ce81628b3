/** Bundle the remote runtime and an app into one classic script for the XS engine. */
import { build, type Plugin } from 'esbuild';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
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

/** The app named in manifest.json ("app": "echo" -> firmware/apps/echo/main.ts). */
export function manifestApp(manifestPath = resolve(root, 'manifest.json')): string {
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { app?: { name?: string } };
  return manifest.app?.name ?? 'echo';
}

/** Bundle firmware/platform/xs-entry.ts with `app` into `outFile`; returns the script text. */
export async function bundleFirmware(outFile: string, app = manifestApp()): Promise<string> {
  const appEntry = resolve(root, 'firmware/apps', app, 'main.ts');
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
    alias: { 'xs-rpmsg-app': appEntry },
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
  const app = process.argv[3] ?? manifestApp();
  bundleFirmware(out, app).then(
    (text) => console.log(`bundled app "${app}" (${text.length} bytes)\n${out}`),
    (error: Error) => {
      console.error(`bundle-firmware: ${error.message}`);
      process.exit(1);
    },
  );
}
