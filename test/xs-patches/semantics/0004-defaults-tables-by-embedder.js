// Semantics pinned by patch 0004 (the feature tables of xsDefaults.c defined by the embedder): with
// every entry the engine's own (the host engine keeps them all), each feature behind the tables
// still works: async functions and await, generators, async generators and for await, import(),
// BigInt arithmetic and BigInt64Array, Atomics on a shared buffer, Proxy traps, direct eval,
// arguments objects, private fields, function length and name, error stacks.
const out = [];
const log = (...v) => out.push(v.map(String).join(' '));
function* counter(n) { for (let i = 0; i < n; i++) yield i; }
log('generator', [...counter(4)].join());
log('bigint', (2n ** 70n + 1n).toString(), (-7n / 2n).toString(), (0xffn & 0x0fn).toString(), 5n > 4, typeof 1n);
const big = new BigInt64Array(2);
big[0] = -3n;
log('bigint64array', big[0], new BigUint64Array(big.buffer)[0], new DataView(big.buffer).getBigInt64(0, true));
const shared = new Int32Array(new SharedArrayBuffer(8));
log('atomics', Atomics.add(shared, 0, 5), Atomics.load(shared, 0), Atomics.compareExchange(shared, 0, 5, 9), shared[0]);
const proxy = new Proxy({ a: 1 }, { get: (target, key) => (key in target ? target[key] : `no ${String(key)}`) });
log('proxy', proxy.a, proxy.b, Reflect.ownKeys(proxy).join());
const x = 20;
log('eval', eval('x + 1'), (0, eval)('typeof x'));
function args() { return arguments.length + ':' + [].slice.call(arguments).join(); }
log('arguments', args(1, 2, 3), (function () { 'use strict'; return arguments.length; })(7));
class Secret { #value = 4; get() { return this.#value; } static has(o) { return #value in o; } }
log('private', new Secret().get(), Secret.has(new Secret()), Secret.has({}));
log('function', ((a, b) => 0).length, (function named() {}).name, typeof new Error('e').stack);
async function twice(v) { await null; return v * 2; }
async function* ticks() { yield 1; await null; yield 2; }
(async () => {
  log('async', await twice(21));
  const seen = [];
  for await (const t of ticks()) seen.push(t);
  log('for await', seen.join());
  try { await import('no-such-module'); } catch (error) { log('import', error.constructor.name); }
  for (const line of out) print(line);
})();
