import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// The console is served by the Palisade server from dist/ (apps/server/src/console/static.ts).
// No inline scripts or styles (the server's CSP allows only 'self'), hashed file names under assets/.
export default defineConfig({
  plugins: [react()],
  base: '/',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    assetsInlineLimit: 0,
    sourcemap: false,
    modulePreload: { polyfill: false },
    reportCompressedSize: true,
  },
});
