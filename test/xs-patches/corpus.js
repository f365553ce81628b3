// Engine semantics every patch must keep (run on the unpatched and the patched engine; the
// output must be byte-for-byte the same). Typed arrays and DataView first: speed patches land there.
const out = [];
const log = (...values) => out.push(values.map(String).join(' '));
const u8 = new Uint8Array(16);
for (let i = 0; i < u8.length; i++) u8[i] = i * 37;
log('u8', u8.join(','), u8.subarray(3, 7).join(','), u8.slice(-3).join(','));
u8.set([255, 256, -1, 1.9], 2);
log('u8 set', u8.join(','));
const c = new Uint8ClampedArray([300, -5, 1.5, 2.5]);
log('clamped', c.join(','));
const i16 = new Int16Array(u8.buffer, 2, 4);
log('i16', i16.join(','), i16.byteOffset, i16.byteLength);
const f64 = new Float64Array([NaN, -0, Infinity, 1e-310]);
log('f64', Array.from(f64, (x) => Object.is(x, -0) ? '-0' : String(x)).join(','));
const dv = new DataView(u8.buffer, 1, 12);
dv.setUint32(0, 0xdeadbeef);
dv.setInt16(4, -2, true);
log('dv', dv.getUint32(0).toString(16), dv.getUint32(0, true).toString(16), dv.getInt16(4, true), dv.getUint16(4));
try { dv.getUint32(10); } catch (e) { log('dv range', e.name); }
try { u8.set([1, 2], 15); } catch (e) { log('set range', e.name); }
const big = new Uint32Array(1000);
for (let i = 0; i < big.length; i++) big[i] = (i * 2654435761) >>> 0;
let h = 0;
for (let i = 0; i < big.length; i++) h = (h * 31 + big[i]) >>> 0;
log('hash', h, big.indexOf(big[500]), big.includes(7));
log('copyWithin', new Uint8Array([1, 2, 3, 4, 5]).copyWithin(0, 3).join(','), new Int8Array([5, 1, 4]).sort().join(','));
const detached = new ArrayBuffer(4);
log('resizable', typeof detached.resize, detached.byteLength);
log('ints', 0x7fffffff + 1, (0x7fffffff | 0) + 1 | 0, -2147483648 / -1, 7 % -3, -7 % 3, 1 << 31, -1 >>> 0);
log('strings', 'é'.length, '😀'.length, [...'a😀b'].length, 'abc'.localeCompare('abd'), encodeURIComponent('a b&é'));
for (const line of out) print(line);
