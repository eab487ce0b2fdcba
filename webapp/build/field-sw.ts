/**
 * Builds the field app's service worker (`dist/app/sw.js`, scope `/app/`).
 *
 * Instead of workbox-build we compute the precache list ourselves from the Rollup bundle: every
 * chunk, stylesheet and asset that the field entry (app/index.html) reaches, statically or by a
 * dynamic import (the lazily loaded map is precached too so it works offline), plus the field
 * app's public files (manifest, icons) and app/index.html itself with a content hash as its
 * revision. The console's chunks are not precached. The list is compiled into sw.js, so any change
 * of the app changes sw.js and the browser sees an update.
 */
import { createHash } from 'node:crypto'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join, relative, resolve } from 'node:path'
import { build, type Plugin, type Rollup } from 'vite'

type OutputBundle = Rollup.OutputBundle

interface Entry {
  url: string
  revision: string | null
}

function md5(data: string | Uint8Array): string {
  return createHash('md5').update(data).digest('hex').slice(0, 16)
}

function walk(dir: string): string[] {
  const out: string[] = []
  let names: string[]
  try {
    names = readdirSync(dir)
  } catch {
    return out
  }
  for (const name of names) {
    const p = join(dir, name)
    if (statSync(p).isDirectory()) out.push(...walk(p))
    else out.push(p)
  }
  return out
}

export function fieldServiceWorker(opts: { root: string; entryHtml: string; swEntry: string }): Plugin {
  let manifest: Entry[] = []
  let isBuild = false
  return {
    name: 'wangge-field-sw',
    apply: 'build',
    enforce: 'post',
    configResolved(cfg) {
      isBuild = cfg.command === 'build' && !cfg.build.ssr && !process.env.VITEST
    },
    writeBundle(_options, bundle: OutputBundle) {
      const entryPath = resolve(opts.root, opts.entryHtml)
      const seen = new Set<string>()
      const files = new Set<string>()
      const visit = (fileName: string): void => {
        if (seen.has(fileName)) return
        seen.add(fileName)
        const item = bundle[fileName]
        if (!item) return
        files.add(fileName)
        if (item.type === 'chunk') {
          for (const f of item.imports) visit(f)
          for (const f of item.dynamicImports) visit(f)
          const meta = (item as { viteMetadata?: { importedCss: Set<string>; importedAssets: Set<string> } })
            .viteMetadata
          meta?.importedCss.forEach((f) => visit(f))
          meta?.importedAssets.forEach((f) => visit(f))
        }
      }
      for (const item of Object.values(bundle)) {
        if (item.type === 'chunk' && item.isEntry && item.facadeModuleId === entryPath) visit(item.fileName)
      }
      const entries: Entry[] = []
      for (const f of [...files].sort()) {
        // hashed file names are their own revision
        entries.push({ url: '/' + f, revision: null })
      }
      const html = Object.values(bundle).find((b) => b.fileName === opts.entryHtml.replace(/\\/g, '/'))
      if (html && html.type === 'asset') {
        entries.push({ url: '/app/index.html', revision: md5(String(html.source)) })
        // CSS/JS referenced by the HTML itself (the entry chunk is already in)
        for (const m of String(html.source).matchAll(/(?:href|src)="(\/assets\/[^"]+)"/g)) {
          if (m[1] && !entries.some((e) => e.url === m[1])) entries.push({ url: m[1], revision: null })
        }
      }
      manifest = entries
    },
    async closeBundle() {
      if (!isBuild) return
      const publicApp = resolve(opts.root, 'public/app')
      const entries = [...manifest]
      for (const file of walk(publicApp)) {
        const rel = relative(resolve(opts.root, 'public'), file).replace(/\\/g, '/')
        if (rel === 'app/sw.js') continue
        entries.push({ url: '/' + rel, revision: md5(readFileSync(file)) })
      }
      await build({
        configFile: false,
        root: opts.root,
        logLevel: 'warn',
        publicDir: false,
        define: {
          __PRECACHE_MANIFEST__: JSON.stringify(entries),
          'process.env.NODE_ENV': JSON.stringify('production'),
        },
        build: {
          outDir: resolve(opts.root, 'dist/app'),
          emptyOutDir: false,
          copyPublicDir: false,
          minify: true,
          sourcemap: false,
          lib: {
            entry: resolve(opts.root, opts.swEntry),
            formats: ['iife'],
            name: 'wanggeFieldSW',
            fileName: () => 'sw.js',
          },
          rollupOptions: { output: { inlineDynamicImports: true } },
        },
      })
    },
  }
}
