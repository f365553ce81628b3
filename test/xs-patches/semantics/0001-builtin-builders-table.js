// Semantics pinned by patch 0001 (builders table): with every builder listed, the machine is the
// engine's own. Each built-in the patch can leave out is exercised, plus the global object's shape.
const out = [];
const log = (...values) => out.push(values.map((v) => (typeof v === 'string' ? v : String(v))).join(' '));
log('globals', Object.getOwnPropertyNames(globalThis).filter((n) => n !== 'print').sort().join(','));
function* counter(n) { for (let i = 0; i < n; i++) yield i * i; }
log('generator', [...counter(5)].join(','));
log('bigint', (2n ** 70n).toString(), BigInt.asUintN(8, 257n), typeof 1n);
const d = new Date(Date.UTC(2024, 1, 29, 12, 34, 56, 789));
log('date', d.toISOString(), d.getUTCDay(), d.valueOf(), Date.UTC(1970, 0, 1));
log('regexp', /(\d+)-(\d+)/.exec('a 12-34 b').slice(1).join('|'), 'x1y22z333'.replace(/\d+/g, (m) => `<${m.length}>`), 'a,b;c'.split(/[,;]/).length, /é/u.test('café'));
log('json', JSON.stringify({ a: [1, 'two', null, true], b: { c: 1.5 } }), JSON.parse('[1,{"x":[2]}]')[1].x[0]);
const sab = new SharedArrayBuffer(8);
const ia = new Int32Array(sab);
log('atomics', Atomics.add(ia, 0, 5), Atomics.load(ia, 0), Atomics.compareExchange(ia, 1, 0, 7), ia[1]);
const p = new Proxy({}, { get: (t, k) => `got ${String(k)}`, has: () => true });
log('proxy', p.foo, 'bar' in p, Reflect.ownKeys({ a: 1, [Symbol.iterator]: 2 }).length, Reflect.apply(Math.max, null, [1, 3, 2]));
log('math', Math.hypot(3, 4), Math.clz32(1), Math.fround(5.5), Math.trunc(-4.7), Math.sign(-3));
log('string', 'abc'.padStart(6, '-'), 'Hello'.at(-1), 'a-b-c'.replaceAll('-', '+'), String.raw`x\ny`, 'ß'.toUpperCase());
log('number', (0.1 + 0.2).toFixed(10), Number.parseFloat('1e3'), (255).toString(16), Number.isInteger(5.0), 2 ** 53 + 1);
log('array', [3, 1, 2].sort().join(), [1, [2, [3, [4]]]].flat(2).length, Array.from({ length: 3 }, (_, i) => i * 2).join(), [1, 2, 3].findLast((x) => x < 3));
const m = new Map([[1, 'a'], ['k', { z: 1 }]]);
const s = new Set([1, 2, 2, 3]);
log('mapset', m.size, m.get('k').z, s.size, [...s].join(), new WeakMap().has({}));
const sym = Symbol('tag');
log('symbol', sym.toString(), sym.description, Symbol.for('x') === Symbol.for('x'), typeof Symbol.asyncIterator);
log('error', new RangeError('r').name, (() => { try { null.x; } catch (e) { return e instanceof TypeError; } })(), new AggregateError([1], 'agg').errors.length);
const dv = new DataView(new ArrayBuffer(8));
dv.setFloat64(0, Math.PI, true);
log('dataview', dv.getUint32(0, true), dv.getUint8(7), new Uint8Array([1, 2, 300])[2], new Float32Array([1.1])[0]);
function args() { return arguments.length + ':' + Array.prototype.join.call(arguments, '/'); }
log('arguments', args(1, 'b', 3));
log('function', (function named(a, b) {}).length, (() => {}).name, Function.prototype.call.call((x) => x * 2, null, 21));
log('object', JSON.stringify(Object.entries({ a: 1, b: 2 })), Object.isFrozen(Object.freeze({})), Object.getPrototypeOf([]) === Array.prototype);
(async () => {
  const values = await Promise.all([1, Promise.resolve(2), new Promise((r) => r(3))]);
  log('promise', values.join(), await Promise.race([Promise.resolve('first'), new Promise(() => {})]));
  const settled = await Promise.allSettled([Promise.reject(new Error('no')), 4]);
  log('settled', settled.map((x) => x.status).join());
  async function* agen() { yield 1; yield 2; }
  let sum = 0;
  for await (const v of agen()) sum += v;
  log('async generator', sum);
  for (const line of out) print(line);
})();
