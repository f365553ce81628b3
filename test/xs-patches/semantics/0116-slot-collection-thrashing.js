// Patch 0116 changes when the slot heap grows, not what a script computes: a heap kept nearly full
// of live objects while garbage is allocated must keep every live value and every computed result.
function checksum(list) {
  let sum = 0;
  for (let i = 0; i < list.length; i++) sum = (sum * 31 + list[i].value + list[i].pair[1]) % 1000003;
  return sum;
}
const live = [];
for (let i = 0; i < 12000; i++) live.push({ value: i, pair: [i, i * 2] });
print('live', live.length, checksum(live));
let kept = 0;
for (let round = 0; round < 8; round++) {
  let garbage = 0;
  for (let i = 0; i < 3000; i++) {
    const o = { a: i, b: [round, i] };
    garbage += o.b[1] & 7;
  }
  live[round * 100].value += garbage % 10;
  kept += garbage;
  print('round', round, garbage, checksum(live));
}
const strings = [];
for (let i = 0; i < 200; i++) strings.push('s' + i + ':' + (i * 7));
print('strings', strings.length, strings[199], strings.join('').length);
const map = new Map();
for (let i = 0; i < 500; i++) map.set(i, { i });
let mapSum = 0;
for (const [k, v] of map) mapSum += k + v.i;
print('map', map.size, mapSum);
print('kept', kept, live[0].value, live[700].value, live[11999].pair[1]);
