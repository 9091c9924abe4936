import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// The dev server proxies the API to a locally running `vigil serve`.
const backend = process.env.VIGIL_URL ?? 'http://127.0.0.1:8080';

export default defineConfig({
  plugins: [react()],
  build: {
    outDir: 'dist',
    assetsDir: 'assets',
    // Nothing inline: the server's Content-Security-Policy forbids inline scripts.
    assetsInlineLimit: 0,
    sourcemap: false,
    target: 'es2022',
    // One chunk for the whole app is within the budget scripts/budget.mjs enforces.
    chunkSizeWarningLimit: 800,
  },
  server: {
    proxy: {
      '/api': backend,
      '/health': backend,
    },
  },
});
