/**
 * The adapter's two parsers, as properties: the xsbug messages (XML as xsDebug.c writes it: every
 * byte the engine escapes is `&#N;`, below 0x20 and " & ' < > 0x7F) and DAP framing, both in
 * arbitrary chunks, as sockets and pipes deliver them.
 */
import { PassThrough } from 'node:stream';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DapStream, type DapMessage } from '../../debug/dap.ts';
import { parseXml, XsbugConnection, type XmlElement } from '../../debug/xsbug.ts';
import type { Socket } from 'node:net';

/** fxEchoString's escaping (xsDebug.c): what its table marks 0 becomes a decimal character reference. */
function echoString(text: string): string {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    const keep = byte >= 0x80 || (byte >= 0x20 && byte !== 0x22 && byte !== 0x26 && byte !== 0x27 && byte !== 0x3C && byte !== 0x3E && byte !== 0x7F);
    out += keep ? String.fromCharCode(byte) : `&#${byte};`;
  }
  return Buffer.from(out, 'latin1').toString('utf8');
}

interface Property { name: string; value: string; children: Property[] }
const property: fc.Memo<Property> = fc.memo((depth) => fc.record({
  name: fc.string({ maxLength: 12 }),
  value: fc.string({ maxLength: 20 }),
  children: depth > 1 ? fc.array(property(depth - 1), { maxLength: 3 }) : fc.constant([]),
}));

function write(p: Property): string {
  const head = `<property flags="${p.children.length ? '-' : ' '}" name="${echoString(p.name)}" value="${echoString(p.value)}"`;
  return p.children.length ? `${head}>${p.children.map(write).join('')}</property>` : `${head}/>`;
}

function read(e: XmlElement): Property {
  return { name: e.attributes.name, value: e.attributes.value, children: e.children.map(read) };
}

/** Splits `text` at the given cut points. */
function chunks(text: string, cuts: number[]): string[] {
  const points = [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((a, b) => a - b);
  const out: string[] = [];
  let last = 0;
  for (const p of points) {
    out.push(text.slice(last, p));
    last = p;
  }
  out.push(text.slice(last));
  return out;
}

describe('xsbug messages', () => {
  it('a <local> listing reads back as written, whatever the names and values, in any chunks', () => {
    fc.assert(fc.property(fc.array(property(3), { maxLength: 5 }), fc.array(fc.nat(), { maxLength: 6 }), (properties, cuts) => {
      const message = `\r\n<xsbug><local name="f" value="@1F" path="a.ts" line="3">${properties.map(write).join('')}</local></xsbug>\r\n`;
      const socket = new PassThrough() as unknown as Socket;
      const connection = new XsbugConnection(socket);
      const received: XmlElement[] = [];
      connection.on('message', (m: XmlElement) => received.push(m));
      for (const chunk of chunks(Buffer.from(message, 'utf8').toString('latin1'), cuts)) (socket as unknown as PassThrough).write(Buffer.from(chunk, 'latin1'));
      expect(received).toHaveLength(1);
      expect(received[0].children[0].children.map(read)).toEqual(properties);
    }), { numRuns: 200 });
  });

  it('refuses unbalanced XML with a sentence, never a wrong tree', () => {
    expect(() => parseXml('<xsbug><local></xsbug>')).toThrow(/closes <local>/);
    expect(() => parseXml('<xsbug><local>')).toThrow(/not closed/);
  });
});

describe('DAP framing', () => {
  it('messages read back in order, whatever the chunking and the bodies', () => {
    fc.assert(fc.property(fc.array(fc.record({ command: fc.string({ maxLength: 10 }), text: fc.string({ maxLength: 40 }) }), { minLength: 1, maxLength: 5 }), fc.array(fc.nat(), { maxLength: 8 }), (requests, cuts) => {
      const input = new PassThrough();
      const stream = new DapStream(input, new PassThrough());
      const got: DapMessage[] = [];
      stream.on('message', (m: DapMessage) => got.push(m));
      const wire = Buffer.concat(requests.map((r, i) => {
        const body = Buffer.from(JSON.stringify({ seq: i + 1, type: 'request', command: r.command, arguments: { text: r.text } }));
        return Buffer.concat([Buffer.from(`Content-Length: ${body.length}\r\n\r\n`), body]);
      }));
      const points = [...new Set(cuts.map((c) => c % (wire.length + 1)))].sort((a, b) => a - b);
      let last = 0;
      for (const p of [...points, wire.length]) {
        input.write(wire.subarray(last, p));
        last = p;
      }
      expect(got.map((m) => [m.command, (m.arguments as { text: string }).text])).toEqual(requests.map((r) => [r.command, r.text]));
    }), { numRuns: 200 });
  });
});
