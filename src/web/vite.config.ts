/**
 * The dashboard build: root src/web, output dist/web (served by the ony server). Hashed file names
 * under assets/ (cached for a year), no inline scripts or styles (the server's CSP forbids them),
 * and no module-preload polyfill (it would be inline code). public/ holds the service worker, the
 * manifest and the icons, served at the root (the service worker's scope is the whole dashboard).
 */
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

const root = new URL('.', import.meta.url).pathname;

export default defineConfig({
  root,
  base: '/',
  plugins: [react()],
  // Copied as they are to dist/web: the service worker, the web app manifest and the icons.
  publicDir: new URL('public', import.meta.url).pathname,
  build: {
    outDir: new URL('../../dist/web', import.meta.url).pathname,
    emptyOutDir: true,
    target: 'es2022',
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    cssCodeSplit: false,
    reportCompressedSize: true,
    chunkSizeWarningLimit: 400,
  },
  server: { proxy: { '/v1': 'http://127.0.0.1:8080' } },
});
