// Patch 0116's behaviour (test/xs-patches/semantics.test.ts): fill the slot heap with live objects,
// then allocate garbage. Prints the heap's reserved slots before and after the garbage.
const live = [];
for (let i = 0; i < 12000; i++) live.push({ value: i, pair: [i, i * 2] });
const before = reserved();
let sum = 0;
for (let i = 0; i < 20000; i++) {
  const o = { a: i, b: [i] };
  sum += o.b[0] & 1;
}
print('reserved', before, reserved(), 'live', live.length, 'sum', sum);
