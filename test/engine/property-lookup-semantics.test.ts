/**
 * Engine patch 0101 (tools/xs-patches/0101-property-lookup-cache.patch): a cache of named
 * property lookups in fxOrdinaryGetProperty. test/engine/fixtures/property-lookup-semantics.js
 * reads the same properties repeatedly while deleting, re-adding, shadowing, redefining as
 * accessors, switching prototypes at depths 1 to 3 (also back and forth without allocating),
 * through classes, getters that change the chain, proxies, frozen objects, globals and `with`,
 * short-lived objects reborn at the same address, and a seeded random world of 20,000
 * operations; it runs on the patched and the stock engine, on posix and on qemu: the same lines.
 */
import * as vitest from 'vitest';
import { engineSemanticsSuite } from './engine-runner.ts';

engineSemanticsSuite(vitest, ['0101-property-lookup-cache.patch'], 'property-lookup-semantics.js', 20);
