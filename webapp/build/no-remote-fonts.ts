/**
 * Drops remote font sources from every stylesheet: Vant's icon font is inlined as a `data:`
 * woff2 with a fallback `url(//at.alicdn.com/….woff)`. The app must not fetch from a third-party
 * CDN (privacy, offline use, and the Content-Security-Policy allows fonts from 'self' and
 * `data:` only; Chromium requests the fallback even when the data font has loaded).
 */
import type { Plugin } from 'vite'

const REMOTE_SOURCE = /,\s*url\(\s*["']?(?:https?:)?\/\/[^)]*\)\s*format\(\s*["'][^"')]*["']\s*\)/g

export function stripRemoteFonts(css: string): string {
  return css.replace(/@font-face\s*\{[^}]*\}/g, (rule) => rule.replace(REMOTE_SOURCE, ''))
}

export function noRemoteFonts(): Plugin {
  return {
    name: 'wangge-no-remote-fonts',
    enforce: 'pre',
    transform(code, id) {
      if (!/\.css($|\?)/.test(id) || !code.includes('@font-face')) return null
      const out = stripRemoteFonts(code)
      return out === code ? null : { code: out, map: null }
    },
  }
}
