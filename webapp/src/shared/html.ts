/**
 * The one rule for every string that reaches HTML (issue 11, stored XSS).
 *
 * Vue templates (`{{ }}`, bound attributes) escape by themselves. Everything else that is parsed
 * as HTML — Leaflet tooltips, popups and div icons, ECharts tooltip formatters — goes through
 * this module and nowhere else:
 *
 * - `html\`<b>${name}</b>\`` escapes every interpolated value (grid names, descriptions, codes,
 *   numbers, anything) and returns an `Html` ("safe to parse"). An `Html` interpolated into
 *   another `html\`\`` is kept as is; an array is joined, each item escaped.
 * - `bindTooltip`, `bindPopup`, `divIcon`, `htmlFormatter` are the only ways to hand markup to
 *   Leaflet and ECharts; they accept an `Html` (or a DOM node built with textContent), never a
 *   plain string, so the type checker refuses a raw one.
 * - `trusted(s)` marks markup that a library made for us (ECharts' series marker); never pass it
 *   data from the server or the user.
 *
 * tests/html.test.ts checks the rule, and that no `innerHTML`, `v-html`, `.bindTooltip(`, ...
 * appears anywhere in src/ outside this module.
 */
import type * as Leaflet from 'leaflet'

/** Markup whose every piece of data has been escaped (made only by `html`, `text`, `trusted`). */
export class Html {
  /** @internal use `html`, `text` or `trusted` */
  constructor(readonly markup: string) {}
  toString(): string {
    return this.markup
  }
}

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;', '`': '&#96;' }

/** Text → HTML text: `& < > " ' \`` become entities (safe in element content and quoted attributes). */
export function escapeHtml(value: unknown): string {
  return String(value ?? '').replace(/[&<>"'`]/g, (c) => ENTITIES[c]!)
}

/** Plain text as `Html` (escaped). */
export function text(value: unknown): Html {
  return new Html(escapeHtml(value))
}

/** Markup made by a library, not from data: kept as is. Never pass server or user data here. */
export function trusted(markup: string): Html {
  return new Html(markup)
}

function piece(v: unknown): string {
  if (v == null || v === false) return ''
  if (v instanceof Html) return v.markup
  if (Array.isArray(v)) return v.map(piece).join('')
  return escapeHtml(v)
}

/**
 * Tagged template: the literal parts are markup (written here, in the source), every `${value}`
 * is escaped unless it is itself `Html`; arrays are joined; null, undefined and false are empty.
 */
export function html(strings: TemplateStringsArray, ...values: unknown[]): Html {
  let out = strings[0] ?? ''
  values.forEach((v, i) => {
    out += piece(v) + (strings[i + 1] ?? '')
  })
  return new Html(out)
}

// ---- the only places markup is handed to Leaflet and ECharts ----

type Content = Html | HTMLElement

function unwrap(c: Content): string | HTMLElement {
  return c instanceof Html ? c.markup : c
}

/** `layer.bindTooltip` with escaped content. */
export function bindTooltip<T extends Leaflet.Layer>(layer: T, content: Content, options?: Leaflet.TooltipOptions): T {
  return layer.bindTooltip(unwrap(content), options)
}

/** `layer.bindPopup` with escaped content. */
export function bindPopup<T extends Leaflet.Layer>(layer: T, content: Content, options?: Leaflet.PopupOptions): T {
  return layer.bindPopup(unwrap(content), options)
}

/** `L.divIcon` whose `html` is escaped markup. */
export function divIcon(L: typeof Leaflet, options: Omit<Leaflet.DivIconOptions, 'html'> & { html: Content }): Leaflet.DivIcon {
  return L.divIcon({ ...options, html: unwrap(options.html) })
}

/** An ECharts tooltip formatter: ECharts parses its result as HTML, so it must return `Html`. */
export function htmlFormatter<P>(fn: (params: P) => Html): (params: unknown) => string {
  return (params: unknown) => fn(params as P).markup
}

/**
 * An ECharts formatter whose result is drawn as text on the canvas (axis and series labels):
 * not HTML, nothing to escape; declared here so every formatter says which kind it is.
 */
export function textFormatter<P>(fn: (params: P) => string): (params: unknown) => string {
  return (params: unknown) => fn(params as P)
}
