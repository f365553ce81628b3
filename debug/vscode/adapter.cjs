#!/usr/bin/env node
// What VS Code runs for a debug session of type "xs-rpmsg" (package.json, contributes.debuggers):
// the repository's adapter, debug/main.ts, under tsx, with this process's stdio (DAP frames) handed
// straight to it. The repository is the folder two levels up, where this file lives in debug/vscode/.
'use strict';
const { spawn } = require('node:child_process');
const { resolve } = require('node:path');

const root = resolve(__dirname, '..', '..');
let tsx;
try {
  tsx = require.resolve('tsx/cli', { paths: [root] });
} catch {
  process.stderr.write(`xs-rpmsg debug: tsx is not installed in ${root}; run \`npm ci\` (or bash scripts/setup.sh) there first\n`);
  process.exit(1);
}
const child = spawn(process.execPath, [tsx, resolve(root, 'debug', 'main.ts')], { cwd: root, stdio: 'inherit' });
child.on('exit', (code, signal) => process.exit(signal ? 1 : (code ?? 0)));
for (const name of ['SIGTERM', 'SIGINT']) process.on(name, () => child.kill(name));
