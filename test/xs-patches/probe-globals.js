// Prints "Name: typeof" for the standard globals (patch 0001's strip test).
for (const name of ['Object', 'Function', 'Array', 'String', 'Boolean', 'Number', 'BigInt', 'Date', 'Math', 'RegExp', 'Error', 'JSON',
  'DataView', 'Uint8Array', 'Atomics', 'SharedArrayBuffer', 'Promise', 'Symbol', 'Proxy', 'Reflect', 'Map', 'Set'])
  print(`${name}: ${typeof globalThis[name]}`);
