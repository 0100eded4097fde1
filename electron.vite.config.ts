// One build description for the three bundles: main (Node: Electron main, CLI, workers, benchmarks),
// preload (sandboxed, CommonJS, everything bundled but `electron`) and renderer (Vue).
// `electron-vite dev` uses it on machines with Electron; `scripts/build.mjs` builds the same sections
// with plain Vite, so machines without the Electron binary (browser mode, CI) get identical bundles.
import { builtinModules } from 'node:module'
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { defineConfig } from 'electron-vite'
import vue from '@vitejs/plugin-vue'

const pkg = JSON.parse(readFileSync(resolve(__dirname, 'package.json'), 'utf8')) as Record<string, Record<string, string> | undefined>
const packages = new Set(['electron', ...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.optionalDependencies ?? {}), ...Object.keys(pkg.devDependencies ?? {})])
const builtins = new Set([...builtinModules, ...builtinModules.map((m) => `node:${m}`)])

/** Node bundles keep packages external: native addons and tfjs's .wasm files must load from node_modules. */
function isExternalForNode(id: string): boolean {
  if (builtins.has(id)) return true
  const name = id.startsWith('@') ? id.split('/').slice(0, 2).join('/') : id.split('/')[0]!
  return packages.has(name)
}

export default defineConfig({
  main: {
    build: {
      outDir: resolve(__dirname, 'out/main'),
      emptyOutDir: true,
      target: 'node20',
      ssr: true,
      minify: false,
      sourcemap: true,
      rollupOptions: {
        input: {
          electron: resolve(__dirname, 'src/main/electron/main.ts'),
          cli: resolve(__dirname, 'src/main/cli/run.ts'),
          'train-worker': resolve(__dirname, 'src/main/engine/training/worker.ts'),
          'job-worker': resolve(__dirname, 'src/main/engine/jobs/worker.ts'),
          'train-replica': resolve(__dirname, 'src/main/engine/training/replica.ts'),
          'bench-store': resolve(__dirname, 'bench/store.ts'),
          'bench-train': resolve(__dirname, 'bench/train.ts'),
          'bench-gpu': resolve(__dirname, 'bench/gpu.ts'),
          'bench-growth': resolve(__dirname, 'bench/growth.ts'),
          'bench-frw': resolve(__dirname, 'bench/frw.ts'),
          'bench-lifelong': resolve(__dirname, 'bench/lifelong.ts'),
          'bench-sweep': resolve(__dirname, 'bench/sweep.ts'),
          'bench-compare': resolve(__dirname, 'bench/compare.ts'),
          'bench-eval': resolve(__dirname, 'bench/eval.ts')
        },
        external: isExternalForNode,
        output: { format: 'es', entryFileNames: '[name].js', chunkFileNames: 'chunks/[name]-[hash].js' }
      }
    }
  },
  preload: {
    build: {
      outDir: resolve(__dirname, 'out/preload'),
      emptyOutDir: true,
      target: 'node20',
      ssr: true,
      ssrEmitAssets: false,
      minify: false,
      rollupOptions: {
        input: { index: resolve(__dirname, 'src/preload/index.ts'), gpu: resolve(__dirname, 'src/preload/gpu.ts') },
        external: ['electron'],
        output: { format: 'cjs', entryFileNames: '[name].cjs' }
      }
    },
    // A sandboxed preload cannot require packages: bundle zod and the contract into it.
    ssr: { noExternal: true }
  },
  renderer: {
    root: resolve(__dirname, 'src/renderer'),
    base: './',
    publicDir: resolve(__dirname, 'resources/public'),
    plugins: [vue()],
    build: {
      outDir: resolve(__dirname, 'out/renderer'),
      emptyOutDir: true,
      target: 'es2022',
      rollupOptions: { input: resolve(__dirname, 'src/renderer/index.html') }
    }
  }
})
