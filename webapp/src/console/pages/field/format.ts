/**
 * Pure helpers of the field-work screens (issue 17): figures as people read them (km, hours and
 * minutes, coverage in %), the county's day, the colour of each patrol and its track as Leaflet
 * wants it. No Vue, no Leaflet: tested in webapp/tests/field-console.test.ts.
 */
import { shanghaiParts } from '@/shared/format'

/** Eight colours for the patrols of a day, distinct on a map and on white (≥ 4.5:1 as text). */
export const PATROL_COLORS = ['#1565c0', '#c62828', '#2e7d32', '#6a1b9a', '#b45309', '#00838f', '#ad1457', '#4e342e'] as const

export function patrolColor(index: number): string {
  return PATROL_COLORS[((index % PATROL_COLORS.length) + PATROL_COLORS.length) % PATROL_COLORS.length]!
}

/** Metres as kilometres: "0.35", "3.42", "12.3" (two decimals below 10 km, one above). */
export function kmText(metres: number | null | undefined): string {
  if (metres == null || !Number.isFinite(metres)) return '—'
  const km = Math.max(0, metres) / 1000
  return km < 10 ? km.toFixed(2) : km.toFixed(1)
}

/** Seconds as hours and whole minutes, `[hours, minutes]` (the seconds left out, as the
 * server's work-log lines write a patrol's time: "1 h 45 min"). */
export function hoursMinutes(seconds: number | null | undefined): [number, number] | null {
  if (seconds == null || !Number.isFinite(seconds) || seconds < 0) return null
  const minutes = Math.floor(seconds / 60)
  return [Math.floor(minutes / 60), minutes % 60]
}

/** Coverage (0..1) as "37.5 %" (one decimal); null (not computed yet) → null. */
export function percentText(share: number | null | undefined): string | null {
  if (share == null || !Number.isFinite(share)) return null
  const p = Math.min(1, Math.max(0, share)) * 100
  return `${(Math.round(p * 10) / 10).toFixed(1)} %`
}

/** The county's date (Asia/Shanghai) of a moment as YYYY-MM-DD. */
export function countyDay(at: Date | number = Date.now()): string {
  const p = shanghaiParts(new Date(at))
  return `${p.year}-${p.month}-${p.day}`
}

const DAY_RE = /^(\d{4})-(\d{2})-(\d{2})$/

/** Is this a real calendar date written YYYY-MM-DD? */
export function isDay(s: unknown): s is string {
  if (typeof s !== 'string') return false
  const m = DAY_RE.exec(s)
  if (!m) return false
  const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])))
  return d.toISOString().slice(0, 10) === s
}

/** The day `n` days after `day` (calendar arithmetic, no time zone involved). */
export function addDays(day: string, n: number): string {
  const m = DAY_RE.exec(day)
  if (!m) return day
  const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]) + n))
  return d.toISOString().slice(0, 10)
}

/** "08:05" in Asia/Shanghai. */
export function clock(iso: string | null | undefined): string {
  if (!iso) return ''
  const d = new Date(iso)
  if (Number.isNaN(d.getTime())) return ''
  const p = shanghaiParts(d)
  return `${p.hour}:${p.minute}`
}

export interface LineString {
  type: 'LineString'
  coordinates: number[][]
}

/** A GeoJSON LineString (lon, lat) as Leaflet's [lat, lon] pairs; bad positions left out. */
export function trackLatLngs(track: LineString | { type: string; coordinates?: unknown } | null | undefined): Array<[number, number]> {
  if (!track || track.type !== 'LineString' || !Array.isArray(track.coordinates)) return []
  const out: Array<[number, number]> = []
  for (const c of track.coordinates as unknown[]) {
    if (!Array.isArray(c)) continue
    const [lon, lat] = c as number[]
    if (typeof lon !== 'number' || typeof lat !== 'number' || !Number.isFinite(lon) || !Number.isFinite(lat)) continue
    if (Math.abs(lat) > 90 || Math.abs(lon) > 180) continue
    out.push([lat, lon])
  }
  return out
}

/** The index of the patrol a thing was made on (by `patrol_uuid`), or -1. */
export function patrolIndex(patrols: ReadonlyArray<{ uuid: string }>, uuid: string | null | undefined): number {
  if (!uuid) return -1
  return patrols.findIndex((p) => p.uuid === uuid)
}

/**
 * A work-log entry's text in one language. The server writes each phrase as "中文 / English"
 * inside a line that also holds data ("上报 / reported 2026… 暴露垃圾", "签到 08:05 迟到 / late"), so
 * `inLang`'s split at the first " / " would drop the data: here each pair loses its other half.
 */
export function entryLine(text: string, locale: 'zh' | 'en'): string {
  if (!text.includes(' / ')) return text
  const out =
    locale === 'zh'
      ? text.replace(/ \/ [A-Za-z][A-Za-z ,:'’-]*?(?=\s*(?:[0-9\u3000-\u9fff\uff00-\uffef·()]|$))/g, '')
      : text.replace(/[\u3000-\u9fff\uff00-\uffef]+(?: [\u3000-\u9fff\uff00-\uffef]+)* \/ /g, '')
  return out.replace(/\s+/g, ' ').trim()
}
