/** How the command line's verbs print: human lines by default, one JSON object per line with --json. */

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

