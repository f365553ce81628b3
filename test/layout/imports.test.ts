// The layout holds: imports run one way between folders, firmware/ reaches no Node API or host-side code, no circle.
import { describe, expect, it } from 'vitest';
import { importCircles, importsOf, layoutProblems, repositoryImports } from '../../tools/check-layout.ts';

describe('the layout of the repository', () => {
  it('every import runs one way and no file is in an import circle', () => {
    expect(layoutProblems(repositoryImports())).toEqual([]);
  });

  it('sees every kind of import statement, type-only and dynamic ones included', () => {
    const text = [
      "import { a } from './a.ts';",
      "import type { B } from '../b/b.ts';",
      "export { c } from './c.ts';",
      "export * from './d.ts';",
      "import './e.ts';",
      "const f = await import('./f.ts');",
      "// import { g } from './g.ts';",
      "const template = `\nimport type { T } from '../../runtime/runtime.ts';\n`;",
      "import {\n  h,\n  i,\n} from 'node:fs';",
    ].join('\n');
    expect(importsOf('x/y/file.ts', text).map((edge) => edge.target ?? edge.specifier)).toEqual([
      'x/y/a.ts', 'x/b/b.ts', 'x/y/c.ts', 'x/y/d.ts', 'x/y/e.ts', 'x/y/f.ts', 'node:fs',
    ]);
  });
});

describe('the checker refuses what the layout forbids', () => {
  const edge = (from: string, target: string) => ({ from, specifier: target, target });
  const bare = (from: string, specifier: string) => ({ from, specifier, target: null });

  it('a circle through type-only imports (the old platform -> vhost-user -> rpmsg-device -> platform)', () => {
    const edges = [
      edge('firmware/runtime/platform.ts', 'firmware/runtime/vhost-user-transport.ts'),
      edge('firmware/runtime/vhost-user-transport.ts', 'firmware/runtime/rpmsg-device.ts'),
      edge('firmware/runtime/rpmsg-device.ts', 'firmware/runtime/platform.ts'),
      edge('firmware/runtime/runtime.ts', 'firmware/runtime/platform.ts'),
    ];
    expect(importCircles(edges)).toEqual([[
      'firmware/runtime/platform.ts', 'firmware/runtime/vhost-user-transport.ts', 'firmware/runtime/rpmsg-device.ts',
    ]]);
    expect(layoutProblems(edges)).toHaveLength(1);
  });

  it('a Node API, an npm package or host-side code imported by firmware code', () => {
    expect(layoutProblems([bare('firmware/runtime/x.ts', 'node:fs')])[0]).toMatch(/Node API "node:fs"/);
    expect(layoutProblems([bare('firmware/apps/x/main.ts', 'fs')])[0]).toMatch(/Node API "fs"/);
    expect(layoutProblems([bare('firmware/apps/x/main.ts', 'left-pad')])[0]).toMatch(/package "left-pad"/);
    for (const folder of ['host-sim', 'launch', 'tools', 'cli', 'test']) {
      expect(layoutProblems([edge('firmware/runtime/x.ts', `${folder}/y.ts`)])).toHaveLength(1);
    }
  });

  it('the in-process platform may use Node, but not host-side code', () => {
    expect(layoutProblems([bare('firmware/platform/in-process/platform.ts', 'node:worker_threads')])).toEqual([]);
    expect(layoutProblems([edge('firmware/platform/in-process/platform.ts', 'host-sim/host.ts')])).toHaveLength(1);
  });

  it('an import back up the floors (a byte format reaching the host, the host reaching the command line)', () => {
    expect(layoutProblems([edge('resource-table/cli.ts', 'host-sim/remoteproc/elf-loader.ts')])).toHaveLength(1);
    expect(layoutProblems([edge('host-sim/transports/firmware-image.ts', 'cli/main.ts')])).toHaveLength(1);
    expect(layoutProblems([edge('wire/x.ts', 'resource-table/layout.ts')])).toHaveLength(1);
    expect(layoutProblems([edge('launch/x.ts', 'host-sim/host.ts')])).toHaveLength(1);
    expect(layoutProblems([edge('tools/x.ts', 'launch/qemu.ts')])).toHaveLength(1);
  });
});
