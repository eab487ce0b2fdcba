/**
 * Deadlines, shown the same way in both apps (issue 14, item 2): the moment ("明天 14:30 前") and
 * the working time left ("剩余 4 工时"). A normal case's deadline counts working hours (office
 * hours on working days: no nights, weekends or statutory holidays) — 工时; an urgent case's
 * counts natural hours — 小时. The server computes both (`deadline_at`, `time_left_hours`).
 */

import { shanghaiParts } from './format'

export type Lang = 'zh' | 'en'

/** What 工时 means, for a legend next to any list of deadlines. */
export const WORK_HOURS_LEGEND: Record<Lang, string> = {
  zh: '工时：工作时间内的小时，不计夜间、周末和法定节假日；紧急案件按自然小时（小时）计。',
  en: 'work h: hours within office hours (no nights, weekends or public holidays); urgent cases count natural hours (h).',
}

/** The unit of a case's deadline and of an extension asked for it: 工时, or 小时 when urgent. */
export function hoursUnit(urgent: boolean, lang: Lang = 'zh'): string {
  if (lang === 'en') return urgent ? 'h' : 'work h'
  return urgent ? '小时' : '工时'
}

function amount(h: number): string {
  return h >= 100 ? String(Math.round(h)) : h.toFixed(1).replace(/\.0$/, '')
}

/** "剩余 4 工时" / "超期 2 工时" / "剩余 3 小时" (urgent); "" without a figure. */
export function formatHoursLeft(hours: number | null | undefined, urgent = false, lang: Lang = 'zh'): string {
  if (hours == null || Number.isNaN(hours)) return ''
  const txt = `${amount(Math.abs(hours))} ${hoursUnit(urgent, lang)}`
  if (lang === 'en') return hours < 0 ? `${txt} late` : `${txt} left`
  return hours < 0 ? `超期 ${txt}` : `剩余 ${txt}`
}

interface Day {
  y: number
  m: number
  d: number
  hm: string
}

function day(t: Date): Day {
  const p = shanghaiParts(t)
  return { y: Number(p.year), m: Number(p.month), d: Number(p.day), hm: `${p.hour}:${p.minute}` }
}

const pad = (n: number): string => String(n).padStart(2, '0')

/**
 * The moment of a deadline, by the calendar of Asia/Shanghai: "今天 14:30 前", "明天 14:30 前",
 * "后天 09:00 前", "12-03 14:30 前", "2027-01-03 14:30 前"; one already past says "…到期"
 * ("昨天 17:00 到期"). English: "by 14:30 today", "due 17:00 yesterday (passed)".
 */
export function formatDeadlineMoment(iso: string | null | undefined, now: Date = new Date(), lang: Lang = 'zh'): string {
  if (!iso) return ''
  const at = new Date(iso)
  if (Number.isNaN(at.getTime())) return ''
  const a = day(at)
  const n = day(now)
  const diff = Math.round((Date.UTC(a.y, a.m - 1, a.d) - Date.UTC(n.y, n.m - 1, n.d)) / 86_400_000)
  const past = at.getTime() < now.getTime()
  const date = a.y === n.y ? `${pad(a.m)}-${pad(a.d)}` : `${a.y}-${pad(a.m)}-${pad(a.d)}`
  if (lang === 'en') {
    const named: Record<number, string> = { [-1]: 'yesterday', 0: 'today', 1: 'tomorrow' }
    const when = diff in named ? `${a.hm} ${named[diff]}` : `${date} ${a.hm}`
    return past ? `was due ${when}` : `by ${when}`
  }
  const named: Record<number, string> = { [-2]: '前天', [-1]: '昨天', 0: '今天', 1: '明天', 2: '后天' }
  const when = diff in named ? `${named[diff]} ${a.hm}` : `${date} ${a.hm}`
  return past ? `${when} 到期` : `${when} 前`
}

export interface WithDeadline {
  deadline_at?: string | null
  time_left_hours?: number | null
  urgency?: string | null
}

/** "明天 14:30 前 · 剩余 4 工时", "昨天 17:00 到期 · 超期 2 工时"; "" without a deadline. */
export function formatDeadline(c: WithDeadline, now: Date = new Date(), lang: Lang = 'zh'): string {
  const moment = formatDeadlineMoment(c.deadline_at, now, lang)
  const left = formatHoursLeft(c.time_left_hours, c.urgency === 'urgent', lang)
  return [moment, left].filter(Boolean).join(' · ')
}
