// Builds the single-page app into dist/ (served by `borderflow serve --web-root web/dist`).
// `npm run dev` proxies /api to a running node: BORDERFLOW_URL (default http://127.0.0.1:8080).
import { defineConfig } from 'vite';

const target = process.env.BORDERFLOW_URL || 'http://127.0.0.1:8080';

export default defineConfig({
  base: '/',
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: false, target: 'es2020' },
  server: { proxy: { '/api': { target, changeOrigin: false } } },
});
