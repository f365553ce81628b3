/** How the command line's verbs print (human lines by default, one JSON object per line with --json) and how a session verb stays up. */

/** How a verb prints: human lines, or one JSON object per line. */
export interface Output {
  json: boolean;
  /** A human line (skipped in JSON mode). */
  line(text: string): void;
  /** A JSON record (skipped in human mode). */
  record(object: Record<string, unknown>): void;
}

/** The Output of a verb run with or without --json. */
export function output(json: boolean): Output {
  return {
    json,
    line: (text) => {
      if (!json) process.stdout.write(`${text}\n`);
    },
    record: (object) => {
      if (json) process.stdout.write(`${JSON.stringify(object)}\n`);
    },
  };
}


/** Stay up until `finished` settles: Ctrl-C, SIGTERM or `durationMs` (if given) call `stop`, which ends it. */
export async function untilStopped(stop: () => void, finished: Promise<unknown>, durationMs?: number): Promise<void> {
  const onSignal = () => stop();
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const timer = durationMs ? setTimeout(stop, durationMs) : null;
  try {
    await finished;
  } finally {
    if (timer) clearTimeout(timer);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
