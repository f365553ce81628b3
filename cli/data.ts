/** Message payloads on the command line: text, hex:..., @file; and how a received one is shown. */
import { readFileSync } from 'node:fs';
import { RpmsgError } from '../wire/errors.ts';
import { RPMSG_MTU } from '../wire/rpmsg.ts';

/** Bytes of a DATA argument: "hex:48 65 6c" (spaces and colons allowed), "@path" (the file's bytes), else the text (UTF-8). */
export function parseData(argument: string): Uint8Array {
  let bytes: Uint8Array;
  if (argument.startsWith('hex:')) {
    const digits = argument.slice(4).replace(/[\s:]/g, '');
    if (!/^([0-9a-fA-F]{2})*$/.test(digits)) throw new RpmsgError('EINVAL', `"${argument}" is not hex: give pairs of hex digits, e.g. hex:48656c6c6f`);
    bytes = fromHex(digits);
  } else if (argument.startsWith('@')) {
    try {
      bytes = new Uint8Array(readFileSync(argument.slice(1)));
    } catch (error) {
      throw new RpmsgError('ENOENT', `cannot read ${argument.slice(1)}: ${(error as Error).message}`);
    }
  } else {
    bytes = new TextEncoder().encode(argument);
  }
  if (bytes.length > RPMSG_MTU) throw new RpmsgError('EMSGSIZE', `${bytes.length} bytes do not fit one rpmsg message (at most ${RPMSG_MTU}); split the data`);
  return bytes;
}

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

export function fromHex(hex: string): Uint8Array {
  return new Uint8Array(Buffer.from(hex, 'hex'));
}

/** Printable text in quotes when the bytes are UTF-8 text, else hex. */
export function describeBytes(bytes: Uint8Array): string {
  const text = Buffer.from(bytes).toString('utf8');
  // eslint-disable-next-line no-control-regex
  if (!text.includes('\uFFFD') && !/[\x00-\x08\x0b-\x1f\x7f]/.test(text)) return JSON.stringify(text);
  return `hex:${toHex(bytes)}`;
}
