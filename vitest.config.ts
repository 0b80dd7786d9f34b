import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // generated wasm is checked to be a tree (backends/wasm/tree-check.ts) in every test that compiles one
    env: { ONNXC_CHECK_TREE: '1' },
  },
});
