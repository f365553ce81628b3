/** The command line: `demo` runs rpmsg-client-sample against a booted remote; `decode`, `c-source`, `bytes` work on resource tables. */
import { formatLogLine } from '../host-sim/log.ts';
import { rpmsgClientSample } from '../host-sim/samples/rpmsg-client-sample.ts';
import { openSession, type TargetName } from '../host-sim/session.ts';
import { runResourceTableCommand } from './resource-table.ts';

const usage = `usage: npx tsx cli/main.ts demo [--target in-process|qemu|posix] [--attach [SHM,SOCKET]] [--count N] [--quiet]
  demo      boot the example firmware on a target and run Linux's rpmsg-client-sample against it
  --attach  posix: use a remote that is already running (default /dev/shm/openamp.shm,/tmp/openamp.event.0)
       npx tsx cli/main.ts decode <file | firmware.elf>         a resource table, decoded, with Linux's verdict
       npx tsx cli/main.ts c-source <manifest.json> [--target T] [--symbol name]
       npx tsx cli/main.ts bytes <manifest.json> [--target T] [--out file]`;

function option(args: string[], name: string, fallback: string): string {
  const at = args.indexOf(name);
  return at >= 0 && at + 1 < args.length ? args[at + 1] : fallback;
}

async function demo(args: string[]): Promise<number> {
  const target = option(args, '--target', 'qemu') as TargetName;
  const count = Number(option(args, '--count', '100'));
  const quiet = args.includes('--quiet');
  const attachAt = args.indexOf('--attach');
  let posixAttach: { shmPath?: string; socketPath?: string } | undefined;
  if (attachAt >= 0) {
    const value = args[attachAt + 1];
    const [shmPath, socketPath] = value && !value.startsWith('--') ? value.split(',') : [];
    posixAttach = { shmPath: shmPath || undefined, socketPath: socketPath || undefined };
  }
  const print = (line: string) => {
    if (!quiet) console.log(line);
  };
  let sample: ReturnType<typeof rpmsgClientSample> | null = null;
  const session = await openSession({
    target,
    app: 'echo',
    verboseBuild: !quiet,
    posixAttach,
    logSink: (line) => print(`[host] ${formatLogLine(line)}`),
    console: (line) => print(`[remote] ${line}`),
    beforeBoot(host) {
      sample = rpmsgClientSample(host.log, count);
      host.rpmsg.registerRpmsgDriver(sample.driver);
    },
  });
  const timeout = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), 60000).unref());
  const outcome = await Promise.race([sample!.finished.then(() => 'done' as const), timeout]);
  const trace = session.rproc.traces?.length ? session.rproc.readTrace(0) : '';
  if (trace) print(`[host] remoteproc0 trace0:\n${trace.replace(/^/gm, '  | ')}`);
  await session.close();
  console.log(sample!.summary());
  if (outcome === 'timeout') console.error('demo: timed out after 60 s waiting for the remote');
  return sample!.rxCount() === count ? 0 : 1;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...args] = argv;
  if (command === 'demo') return demo(args);
  if (command === 'decode' || command === 'c-source' || command === 'bytes') return runResourceTableCommand(argv);
  console.error(usage);
  return command === undefined || command === '--help' ? 0 : 2;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: Error) => {
    console.error(`xs-rpmsg: ${error.message}`);
    process.exit(1);
  },
);
