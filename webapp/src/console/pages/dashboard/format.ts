/** Numbers of the dashboard: counts as integers, rates as percentages, hours with one decimal. */
import type { MetricKind } from './api'

export function fmt(value: number | null | undefined, kind: MetricKind | undefined): string {
  if (value == null || Number.isNaN(value)) return '—'
  if (kind === 'rate') return `${(value * 100).toFixed(1)}%`
  if (kind === 'hours') return value.toFixed(1)
  return value.toLocaleString('zh-CN')
}

/** The change from `prev` to `cur`: percentage points for rates, else the difference. */
export function delta(cur: number | null | undefined, prev: number | null | undefined, kind: MetricKind | undefined): { text: string; sign: number } | null {
  if (cur == null || prev == null) return null
  const d = cur - prev
  const sign = Math.abs(d) < 1e-12 ? 0 : d > 0 ? 1 : -1
  const arrow = sign > 0 ? '▲' : sign < 0 ? '▼' : '＝'
  if (kind === 'rate') return { text: `${arrow} ${Math.abs(d * 100).toFixed(1)} pp`, sign }
  if (kind === 'hours') return { text: `${arrow} ${Math.abs(d).toFixed(1)}`, sign }
  return { text: `${arrow} ${Math.abs(d).toLocaleString('zh-CN')}`, sign }
}

// --- periods (local calendar days in Asia/Shanghai) ------------------------------------------

export function today(tz = 'Asia/Shanghai'): string {
  const p: Record<string, string> = {}
  for (const x of new Intl.DateTimeFormat('en-CA', { timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit' }).formatToParts(new Date()))
    p[x.type] = x.value
  return `${p.year}-${p.month}-${p.day}`
}

function ymd(d: Date): string {
  return d.toISOString().slice(0, 10)
}
function parse(s: string): Date {
  return new Date(`${s}T00:00:00Z`)
}
export function addDays(s: string, n: number): string {
  const d = parse(s)
  d.setUTCDate(d.getUTCDate() + n)
  return ymd(d)
}
function monthStart(s: string, add = 0): string {
  const d = parse(s)
  return ymd(new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + add, 1)))
}
function monthEnd(s: string): string {
  return addDays(monthStart(s, 1), -1)
}
export function daysBetween(a: string, b: string): number {
  return Math.round((parse(b).getTime() - parse(a).getTime()) / 86_400_000)
}

export type Preset = 'month' | 'last_month' | 'quarter' | 'year' | '30d' | 'custom'
export const PRESETS: Preset[] = ['month', 'last_month', 'quarter', 'year', '30d', 'custom']

export function presetRange(p: Preset, now = today()): { from: string; to: string } {
  switch (p) {
    case 'last_month':
      return { from: monthStart(now, -1), to: monthEnd(monthStart(now, -1)) }
    case 'quarter': {
      const d = parse(now)
      const q0 = Math.floor(d.getUTCMonth() / 3) * 3
      return { from: ymd(new Date(Date.UTC(d.getUTCFullYear(), q0, 1))), to: now }
    }
    case 'year':
      return { from: `${now.slice(0, 4)}-01-01`, to: now }
    case '30d':
      return { from: addDays(now, -29), to: now }
    default:
      return { from: monthStart(now), to: now }
  }
}

/** The period to compare with: the one just before (same length; whole months stay months),
 * or the same days a year earlier. */
export function comparePeriod(from: string, to: string, how: 'prev' | 'yoy'): { from: string; to: string } {
  if (how === 'yoy') {
    const shift = (s: string): string => {
      const d = parse(s)
      const y = new Date(Date.UTC(d.getUTCFullYear() - 1, d.getUTCMonth(), d.getUTCDate()))
      if (y.getUTCMonth() !== d.getUTCMonth()) y.setUTCDate(0) // 29 Feb → 28 Feb
      return ymd(y)
    }
    return { from: shift(from), to: shift(to) }
  }
  if (from === monthStart(from)) {
    // a month, or month-to-date: the previous month over the same days (clipped to its end)
    const months = (parse(to).getUTCFullYear() - parse(from).getUTCFullYear()) * 12 + parse(to).getUTCMonth() - parse(from).getUTCMonth()
    const pFrom = monthStart(from, -(months + 1))
    const span = daysBetween(from, to)
    const pTo = addDays(pFrom, span)
    const limit = addDays(from, -1)
    return { from: pFrom, to: pTo > limit ? limit : pTo }
  }
  const n = daysBetween(from, to) + 1
  return { from: addDays(from, -n), to: addDays(to, -n) }
}

/** The range of the trend chart: 12 weeks or 12 months ending with the period. */
export function trendRange(to: string, by: 'week' | 'month'): { from: string; to: string } {
  if (by === 'month') return { from: monthStart(to, -11), to }
  const d = parse(to)
  const monday = addDays(to, -((d.getUTCDay() + 6) % 7))
  return { from: addDays(monday, -7 * 11), to }
}
