import { defineConfig } from 'tsup';

// One build, two formats. The package is CommonJS-typed, so the CJS output is `.js` and the ESM
// output `.mjs`; every runtime dependency loads from both (test/package-smoke.test.ts proves it on the
// built output).
export default defineConfig({
  entry: {
    index: 'src/index.ts',
    'testing/index': 'src/testing/index.ts',
    cli: 'src/cli.ts',
  },
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
  platform: 'node',
  splitting: false,
  treeshake: true,
  // No keepNames: it wraps every function made at run time in a `__name()` call (a defineProperty each,
  // several per API call). Error classes take their `name` from the class, so test/package-smoke checks
  // that every exported class kept its name in the bundle.
});
