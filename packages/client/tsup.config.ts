import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/index.ts'],
  // `iife` writes dist/index.global.js for a <script> tag; its global `WsAuthClient` holds the
  // exports.
  format: ['esm', 'cjs', 'iife'],
  globalName: 'WsAuthClient',
  dts: true,
  clean: true,
  sourcemap: true,
  target: 'es2020',
});
