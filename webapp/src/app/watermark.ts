/**
 * The photo watermark (issue 17: photo evidence): time (Asia/Shanghai), place (lon/lat and
 * accuracy), grid and worker, drawn on a dark band at the bottom of the shrunk photo. The text
 * and the layout are pure (webapp/tests/watermark.test.ts); `drawWatermark` only paints them.
 * The same facts travel as fields with the upload (captured_at, lon, lat, accuracy_m,
 * watermarked), because the server strips EXIF and a picture's text is not data.
 */
import { shanghaiParts } from '@/shared/format'

export interface WatermarkInfo {
  /** When the photo was taken (ms). */
  at: number
  lon: number | null
  lat: number | null
  accuracy: number | null
  gridName?: string | null
  gridCode?: string | null
  worker: string
  /** Taken earlier (a photo from the gallery): where is not known, so none is stated. */
  earlier?: boolean
}

/** Control and format characters (bidi overrides, zero-width) out, runs of spaces made one. */
export function clean(text: string, max = 40): string {
  const s = text.replace(/[\p{C}]/gu, '').replace(/\s+/g, ' ').trim()
  const chars = Array.from(s)
  return chars.length > max ? `${chars.slice(0, max - 1).join('')}…` : s
}

function seconds(ms: number): string {
  const d = new Date(ms)
  const p = shanghaiParts(d)
  const sec = String(Math.floor((((ms / 1000) % 60) + 60) % 60)).padStart(2, '0')
  return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}:${sec}`
}

/** The watermark's lines, top to bottom. */
export function watermarkLines(w: WatermarkInfo): string[] {
  const place = w.earlier
    ? '相册照片，拍摄地点不明'
    : w.lon != null && w.lat != null && Number.isFinite(w.lon) && Number.isFinite(w.lat)
      ? `${Math.abs(w.lon).toFixed(5)}°${w.lon >= 0 ? 'E' : 'W'} ${Math.abs(w.lat).toFixed(5)}°${w.lat >= 0 ? 'N' : 'S'}` +
        (w.accuracy != null && Number.isFinite(w.accuracy) ? ` ±${Math.round(w.accuracy)}米` : '')
      : '未定位'
  const name = w.gridName ? clean(w.gridName, 24) : ''
  const code = w.gridCode ? clean(w.gridCode, 24) : ''
  const grid = name && code ? `${name}（${code}）` : name || code || '未识别'
  return [`时间 ${seconds(w.at)} 北京时间`, `位置 ${place}`, `网格 ${grid}`, `拍摄人 ${clean(w.worker, 24) || '—'}`]
}

export interface WatermarkLayout {
  /** The band: full width, at the bottom. */
  band: { x: number; y: number; width: number; height: number }
  fontPx: number
  /** Baselines of the lines, top to bottom, and their left edge. */
  x: number
  ys: number[]
  /** The widest a line may be (longer ones are shortened with …). */
  maxTextWidth: number
}

/** The band and the text size for a photo of this size: readable on a phone, ≤ ~22 % of it. */
export function watermarkLayout(width: number, height: number, lines: number): WatermarkLayout {
  const short = Math.min(width, height)
  let fontPx = Math.max(12, Math.min(36, Math.round(short * 0.03)))
  const fits = (f: number) => Math.round(f * 1.35) * lines + Math.round(f * 0.7) * 2 <= height * 0.22
  while (fontPx > 8 && !fits(fontPx)) fontPx--
  const lineH = Math.round(fontPx * 1.35)
  const pad = Math.round(fontPx * 0.7)
  const bandH = lineH * lines + pad * 2
  const y0 = height - bandH
  return {
    band: { x: 0, y: y0, width, height: bandH },
    fontPx,
    x: pad,
    ys: Array.from({ length: lines }, (_, k) => y0 + pad + lineH * k + Math.round(fontPx * 1.05)),
    maxTextWidth: Math.max(0, width - pad * 2),
  }
}

/** `text`, shortened with … until `measure` says it fits `max`. */
export function fitText(text: string, max: number, measure: (s: string) => number): string {
  if (measure(text) <= max) return text
  const chars = Array.from(text)
  let lo = 0
  let hi = chars.length
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2)
    if (measure(`${chars.slice(0, mid).join('')}…`) <= max) lo = mid
    else hi = mid - 1
  }
  return `${chars.slice(0, lo).join('')}…`
}

/** Paint the watermark on a canvas already holding the photo. */
export function drawWatermark(ctx: CanvasRenderingContext2D, width: number, height: number, w: WatermarkInfo): void {
  const lines = watermarkLines(w)
  const l = watermarkLayout(width, height, lines.length)
  ctx.save()
  ctx.fillStyle = 'rgba(0, 0, 0, 0.55)'
  ctx.fillRect(l.band.x, l.band.y, l.band.width, l.band.height)
  ctx.font = `${l.fontPx}px "PingFang SC", "Noto Sans CJK SC", "Microsoft YaHei", sans-serif`
  ctx.fillStyle = '#fff'
  ctx.textBaseline = 'alphabetic'
  lines.forEach((text, k) => {
    ctx.fillText(fitText(text, l.maxTextWidth, (s) => ctx.measureText(s).width), l.x, l.ys[k]!)
  })
  ctx.restore()
}
