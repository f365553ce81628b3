/** The name-service announcement (struct rpmsg_ns_msg, drivers/rpmsg/rpmsg_ns.c). */
import { RpmsgError } from './errors.ts';

/** RPMSG_NAME_SIZE: channel names are NUL-padded to this many bytes. */
export const RPMSG_NAME_SIZE = 32;
/** Size of struct rpmsg_ns_msg: name[32], addr u32, flags u32. */
export const RPMSG_NS_MSG_SIZE = 40;
/** Offsets of the fields. */
export const RPMSG_NS_NAME = 0;
export const RPMSG_NS_ADDR_FIELD = 32;
export const RPMSG_NS_FLAGS = 36;
/** enum rpmsg_ns_flags */
export const RPMSG_NS_CREATE = 0;
export const RPMSG_NS_DESTROY = 1;

/** A decoded announcement. */
export interface NameServiceMessage {
  name: string;
  addr: number;
  flags: number;
}

/** The channel-name rule, in one place: at most 31 bytes (name[32] keeps a NUL), printable ASCII. Throws EINVAL with the reason. */
export function checkChannelName(name: string): void {
  if (name.length > RPMSG_NAME_SIZE - 1) {
    throw new RpmsgError('EINVAL', `channel name "${name}" is ${name.length} bytes; rpmsg names hold at most ${RPMSG_NAME_SIZE - 1}`);
  }
  for (let i = 0; i < name.length; i++) {
    const code = name.charCodeAt(i);
    if (code > 0x7e || code < 0x20) {
      throw new RpmsgError('EINVAL', `channel name "${name}" has a non-printable or non-ASCII character at ${i}; use plain ASCII`);
    }
  }
}

/** ASCII encoding of a channel name, NUL-padded to 32 bytes; names checkChannelName refuses are refused. */
export function encodeChannelName(name: string, out: Uint8Array, offset: number): void {
  checkChannelName(name);
  for (let i = 0; i < RPMSG_NAME_SIZE; i++) out[offset + i] = i < name.length ? name.charCodeAt(i) : 0;
}

/** Read a NUL-terminated name of at most `size` bytes (bytes after the first NUL are ignored). */
export function decodeChannelName(bytes: Uint8Array, offset: number, size: number = RPMSG_NAME_SIZE): string {
  let name = '';
  for (let i = 0; i < size; i++) {
    const code = bytes[offset + i];
    if (code === 0) break;
    name += String.fromCharCode(code);
  }
  return name;
}

/** Write an announcement at `offset` of `view`. */
export function writeNameServiceMessage(view: DataView, offset: number, name: string, addr: number, flags: number): void {
  const bytes = new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
  encodeChannelName(name, bytes, offset + RPMSG_NS_NAME);
  view.setUint32(offset + RPMSG_NS_ADDR_FIELD, addr >>> 0, true);
  view.setUint32(offset + RPMSG_NS_FLAGS, flags >>> 0, true);
}

/** The 40 bytes of an announcement. */
export function encodeNameServiceMessage(message: NameServiceMessage): Uint8Array {
  const out = new Uint8Array(RPMSG_NS_MSG_SIZE);
  writeNameServiceMessage(new DataView(out.buffer), 0, message.name, message.addr, message.flags);
  return out;
}

/**
 * Decode an announcement as rpmsg_ns_cb does: any length but 40 is refused (EINVAL) and
 * name[31] is treated as NUL. Flags are kept as sent: Linux tests only the DESTROY bit.
 */
export function decodeNameServiceMessage(bytes: Uint8Array, offset: number, length: number): NameServiceMessage {
  if (length !== RPMSG_NS_MSG_SIZE) {
    throw new RpmsgError('EINVAL', `name-service message is ${length} bytes, struct rpmsg_ns_msg is ${RPMSG_NS_MSG_SIZE}; the peer sent a malformed announcement`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const flags = view.getUint32(offset + RPMSG_NS_FLAGS, true);
  return {
    name: decodeChannelName(bytes, offset + RPMSG_NS_NAME, RPMSG_NAME_SIZE - 1),
    addr: view.getUint32(offset + RPMSG_NS_ADDR_FIELD, true),
    flags,
  };
}

/** True when an announcement withdraws a service (Linux tests flags & RPMSG_NS_DESTROY). */
export function isNameServiceDestroy(flags: number): boolean {
  return (flags & RPMSG_NS_DESTROY) !== 0;
}
