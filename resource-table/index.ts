/** The remoteproc resource table: layout, model, codec, Linux's rules, in-place access, manifest generation. */
export * from './layout.ts';
export * from './model.ts';
export * from './codec.ts';
export * from './validate.ts';
export * from './in-place.ts';
export * from './manifest.ts';
export * from './c-source.ts';
export * from './dump.ts';
