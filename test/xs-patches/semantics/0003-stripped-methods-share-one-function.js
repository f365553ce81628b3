// Semantics pinned by patch 0003 (a stripped method is a property holding one shared function
// object): where nothing is stripped (the host engine keeps every host function), each method
// defined by a builder is still a function object of its own, with its own name and length, and
// the properties keep their attributes and order.
const out = [];
const log = (...v) => out.push(v.map(String).join(' '));
log('distinct', Math.max !== Math.min, Array.prototype.map !== Array.prototype.filter, String.prototype.trim !== String.prototype.trimStart);
log('names', Math.max.name, Array.prototype.map.name, Object.defineProperty.name, DataView.prototype.getUint32.name, String.fromCharCode.name);
log('lengths', Math.max.length, Array.prototype.splice.length, DataView.prototype.setUint16.length, Object.defineProperty.length);
const d = Object.getOwnPropertyDescriptor(Array.prototype, 'reverse');
log('attributes', typeof d.value, d.writable, d.enumerable, d.configurable);
log('order', Object.getOwnPropertyNames(Math).slice(0, 8).join(), Object.getOwnPropertyNames(String.prototype).slice(0, 6).join());
log('calls', [3, 1, 2].reverse().join(), Math.hypot(3, 4), 'a-b'.split('-').length, Number.isInteger(2), new DataView(new ArrayBuffer(4)).getInt8(0));
log('home', Object.getPrototypeOf(Math.max) === Function.prototype, 'prototype' in Math.max);
for (const line of out) print(line);
for (const [owner, name] of [[Math, 'Math'], [Array.prototype, 'Array.prototype'], [String.prototype, 'String.prototype'], [Object, 'Object'], [Number, 'Number'], [DataView.prototype, 'DataView.prototype']]) {
  const value = (k) => Object.getOwnPropertyDescriptor(owner, k).value;
  const keys = Object.getOwnPropertyNames(owner).filter((k) => typeof value(k) === 'function' && k !== 'constructor');
  const distinct = new Set(keys.map(value)).size;
  print('functions of', name, keys.length, 'distinct objects', distinct, 'not named after their key', keys.filter((k) => value(k).name !== k).join() || 'none');
}
