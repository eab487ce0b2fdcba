/// <reference types="vitest/config" />
import { fileURLToPath } from 'node:url'
import { resolve } from 'node:path'
import vue from '@vitejs/plugin-vue'
import { VantResolver } from '@vant/auto-import-resolver'
import Components from 'unplugin-vue-components/vite'
import { defineConfig } from 'vite'
import { fieldServiceWorker } from './build/field-sw'
import { noRemoteFonts } from './build/no-remote-fonts'

const root = fileURLToPath(new URL('.', import.meta.url))

// Two entries in one project: the field PWA (app/, served at /app/) and the command-centre
// console (console/, served at /console/). Shared code lives in src/shared/. Output:
// dist/app/index.html, dist/console/index.html, dist/assets/* (hashed, immutable),
// dist/app/sw.js and dist/app/manifest.webmanifest (copied from public/app/).
export default defineConfig({
  root,
  base: '/',
  publicDir: 'public',
  resolve: {
    alias: { '@': resolve(root, 'src') },
  },
  plugins: [
    vue(),
    noRemoteFonts(),
    // Vant components imported on demand (component code and its CSS only)
    Components({ resolvers: [VantResolver()], dts: false, dirs: [] }),
    fieldServiceWorker({ root, entryHtml: 'app/index.html', swEntry: 'src/sw/sw.ts' }),
  ],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    assetsDir: 'assets',
    target: ['es2020', 'chrome80', 'safari14'],
    cssCodeSplit: true,
    modulePreload: { polyfill: false },
    chunkSizeWarningLimit: 400,
    rollupOptions: {
      input: {
        app: resolve(root, 'app/index.html'),
        console: resolve(root, 'console/index.html'),
      },
    },
  },
  server: {
    // `npm run dev`: the API comes from the Flask app on :5000
    proxy: {
      '/api': 'http://127.0.0.1:5000',
      '/login': 'http://127.0.0.1:5000',
    },
  },
  test: {
    environment: 'node',
    include: ['tests/**/*.test.ts'],
    setupFiles: ['tests/setup.ts'],
  },
})
