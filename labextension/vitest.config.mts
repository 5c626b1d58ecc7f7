import { defineConfig } from 'vitest/config';

// The pure modules run in plain Node: no DOM, no JupyterLab.
export default defineConfig({
  test: { environment: 'node', include: ['test/**/*.test.ts'] }
});
