// Semantics pinned by patch 0002 (host functions through a table): with every entry the engine's
// own function, each kind of host function the builders install still runs: methods, static
// methods, accessors, constructors, symbol-keyed methods, and the engine's internal callbacks
// (promise resolvers, array length accessors, ordinary ToPrimitive).
const out = [];
const log = (...v) => out.push(v.map(String).join(' '));
log('methods', [3, 1, 2].map((x) => x * 2).join('-'), 'abc'.toUpperCase(), (12.5).toFixed(1), Object.keys({ a: 1, b: 2 }).join());
log('static', Array.isArray([]), Number.isSafeInteger(2 ** 53), String.fromCharCode(72, 105), Math.max(1, 9, 3));
const a = [1, 2, 3];
a.length = 1;
log('accessors', a.length, new Map([[1, 2]]).size, new Uint8Array(4).byteLength, /x/g.flags, Object.getOwnPropertyDescriptor(Map.prototype, 'size').get.name);
log('constructors', new Date(0).getTime(), new Error('e').message, typeof new WeakRef({}), new Set('aab').size);
log('symbols', [...new Set([1, 1, 2])].join(), [...'hé'].length, String(Object(Symbol('s')).description), [1, 2][Symbol.iterator]().next().value);
log('to-primitive', `${{ toString() { return 'T'; } }}`, { valueOf() { return 41; } } + 1, [1, [2, 3]] + '', new Date(0) - 0);
log('json', JSON.stringify({ d: new Date(0), n: [1, { toJSON() { return 'j'; } }] }));
let resolvedWith;
Promise.resolve(7).then((v) => { resolvedWith = v; log('promise', v); return Promise.reject(new Error('r')); }).catch((e) => log('caught', e.message)).finally(() => {
  log('resolved', resolvedWith);
  for (const line of out) print(line);
});
