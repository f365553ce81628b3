/**
 * Engine patches 0101 (tools/xs-patches/0101-property-lookup-cache.patch: a cache of named
 * property lookups, in XS_CODE_GET_PROPERTY and fxOrdinaryGetProperty) and 0103
 * (0103-property-store-cache.patch: named stores to an own property the cache holds).
 * test/engine/fixtures/property-lookup-semantics.js reads the same properties repeatedly while
 * deleting, re-adding, shadowing, redefining as accessors, switching prototypes at depths 1 to
 * 3 (also back and forth without allocating), through classes, getters that change the chain,
 * proxies, frozen objects, globals and `with`, short-lived objects reborn at the same address,
 * a seeded random world of 20,000 operations, and named stores (own, deleted then stored,
 * non-writable in strict and sloppy code, frozen, accessors, inherited and shadowed, prototype
 * switches, a named random world). It runs on the patched and the stock engine, on posix and
 * on qemu: the same lines.
 */
import * as vitest from 'vitest';
import { engineSemanticsSuite } from './engine-runner.ts';

engineSemanticsSuite(vitest, ['0101-property-lookup-cache.patch', '0103-property-store-cache.patch'], 'property-lookup-semantics.js', 20);
