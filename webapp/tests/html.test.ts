/**
 * The one escaping rule (src/shared/html.ts), and a lint that keeps every HTML sink behind it:
 * a new `innerHTML`, `v-html`, raw `.bindTooltip(` or ECharts formatter anywhere else in src/
 * fails here, naming the file and line.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { escapeHtml, html, Html, htmlFormatter, text, trusted } from '@/shared/html'

const HOSTILE = [
  '<img src=x onerror="window.__xss=1">',
  '<svg onload=alert(1)>',
  '"><script>window.__xss=1</script>',
  "' onmouseover='alert(1)",
  '`${7*7}` {{7*7}}',
  'javascript:alert(1)',
]

describe('escapeHtml / html``', () => {
  it('turns every markup character into an entity', () => {
    expect(escapeHtml(`<a href="x" title='y'>&\``)).toBe('&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&#96;')
    expect(escapeHtml(null)).toBe('')
    expect(escapeHtml(undefined)).toBe('')
    expect(escapeHtml(42)).toBe('42')
  })

  it('escapes every interpolation, keeps the literal markup', () => {
    for (const s of HOSTILE) {
      const out = html`<b class="mono">${s}</b><span title="${s}">${s}</span>`.markup
      expect(out.startsWith('<b class="mono">')).toBe(true)
      // no tag, attribute break or quote from the data survives
      const data = out.replace(/^<b class="mono">|<\/b><span title="|">|<\/span>$/g, '')
      expect(data).not.toMatch(/[<>"'`]/)
    }
  })

  it('keeps nested html`` and trusted markup, escapes arrays item by item', () => {
    const inner = html`<br>${'<i>'}`
    expect(html`<b>${inner}</b>`.markup).toBe('<b><br>&lt;i&gt;</b>')
    expect(html`${['<a>', html`<p>`, 1]}`.markup).toBe('&lt;a&gt;<p>1')
    expect(html`${trusted('<span class="dot"></span>')}`.markup).toBe('<span class="dot"></span>')
    expect(html`${null}${undefined}${false}${0}`.markup).toBe('0')
    expect(text('<b>').markup).toBe('&lt;b&gt;')
    // a plain string that looks like markup is data, not Html
    const plain: unknown = '<b>x</b>'
    expect(html`${plain}`.markup).toBe('&lt;b&gt;x&lt;/b&gt;')
    expect(html`${'a'}` instanceof Html).toBe(true)
  })

  it('renders as text when parsed (what Leaflet and ECharts do with it)', async () => {
    const { Window } = await import('happy-dom')
    const win = new Window()
    const el = win.document.createElement('div')
    for (const s of HOSTILE) {
      el.innerHTML = html`<b>${s}</b>`.markup
      expect(el.children.length).toBe(1)
      expect(el.children[0]!.children.length).toBe(0)
      expect(el.textContent).toBe(s)
    }
    await win.happyDOM.close()
  })

  it('htmlFormatter hands ECharts a string built by html``', () => {
    const f = htmlFormatter((p: { name: string }) => html`${p.name}<br>`)
    expect(f({ name: '<img src=x onerror=alert(1)>' })).toBe('&lt;img src=x onerror=alert(1)&gt;<br>')
  })
})

// ---- lint: every HTML sink goes through src/shared/html.ts ----

const SRC = fileURLToPath(new URL('../src', import.meta.url))
const RULE_MODULE = 'shared/html.ts'

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name)
    return statSync(p).isDirectory() ? files(p) : /\.(ts|vue)$/.test(name) ? [p] : []
  })
}

/** Forbidden outside the rule module: each sink that parses a string as HTML. */
const SINKS: Array<[RegExp, string]> = [
  [/\binnerHTML\b|\bouterHTML\b|insertAdjacentHTML|document\.write|\bsrcdoc\b|createContextualFragment|DOMParser/, 'parses a string as HTML'],
  [/\bv-html\b/, 'v-html renders a string as HTML'],
  [/\.(bindTooltip|bindPopup|setTooltipContent|setPopupContent|setContent)\s*\(/, 'Leaflet content: use bindTooltip/bindPopup from @/shared/html'],
  [/\b(L|Leaflet)\.(tooltip|popup)\s*\(/, 'Leaflet content: use bindTooltip/bindPopup from @/shared/html'],
  [/\.divIcon\s*\(/, 'Leaflet divIcon: use divIcon from @/shared/html'],
  [/\bnew Html\s*\(/, 'make Html with html``, text() or trusted()'],
  [/\ballow-?html\b|\ballowHtml\b/i, 'Vant allow-html renders a string as HTML'],
  [/\bformatter\s*:(?!\s*(?:htmlFormatter\(|textFormatter\(|undefined\b))/, 'ECharts formatter: wrap it in htmlFormatter (tooltips) or textFormatter (canvas labels)'],
]

describe('lint: HTML sinks only in src/shared/html.ts', () => {
  it('finds none elsewhere', () => {
    const found: string[] = []
    for (const f of files(SRC)) {
      const rel = relative(SRC, f).replace(/\\/g, '/')
      if (rel === RULE_MODULE) continue
      readFileSync(f, 'utf8')
        .split('\n')
        .forEach((line, i) => {
          if (/^\s*(\/\/|\*|\/\*)/.test(line)) return // comments
          for (const [re, why] of SINKS) if (re.test(line)) found.push(`src/${rel}:${i + 1}: ${why}\n    ${line.trim()}`)
        })
    }
    expect(found, found.join('\n')).toEqual([])
  })

  it('catches each kind of sink (the lint itself works)', () => {
    const bad = [
      'el.innerHTML = name',
      '<div v-html="x" />',
      "l.bindTooltip(`${p.name}`, { sticky: true })",
      'mk.bindPopup(p.name)',
      "L.divIcon({ html: `<b>${n}</b>` })",
      'tooltip: { formatter: (p) => `${p.name}` }',
      "showDialog({ message: x, allowHtml: true })",
    ]
    for (const line of bad) expect(SINKS.some(([re]) => re.test(line)), line).toBe(true)
    const ok = ["bindTooltip(l, html`${p.name}`)", 'formatter: htmlFormatter((p) => html`${p}`)', 'valueFormatter: undefined']
    for (const line of ok) expect(SINKS.some(([re]) => re.test(line)), line).toBe(false)
  })
})
