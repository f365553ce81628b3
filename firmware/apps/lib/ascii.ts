/** ASCII text <-> bytes for apps that talk in short text messages (no TextEncoder on XS here). */

/** ASCII bytes of a short text (characters above 0x7f lose their high bit). */
export function asciiBytes(value: string): Uint8Array {
  const out = new Uint8Array(value.length);
  for (let i = 0; i < value.length; i++) out[i] = value.charCodeAt(i) & 0x7f;
  return out;
}

/** The text of the first `length` bytes. */
export function asciiText(bytes: Uint8Array, length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) out += String.fromCharCode(bytes[i]);
  return out;
}
