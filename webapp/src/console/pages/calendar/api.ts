/**
 * The statutory calendar API (`/api/v1/calendar`, docs/api.md "Statutory calendar"): every
 * console role reads a year's holidays and adjusted working days (调休上班日); admins enter a
 * year (JSON or an imported CSV/JSON file), each change with a reason, kept in the trail.
 */
import { ref } from 'vue'
import { api, withAuth } from '../../session'

/** The latest warnings (e.g. "calendar: 2027 unknown"), shared by the banner and the page. */
export const calendarWarnings = ref<string[]>([])

export type Source = 'database' | 'package' | 'unknown'

export interface Day {
  date: string
  name: string
}

export interface CalendarYear {
  year: number
  source: Source
  known: boolean
  holidays: Day[]
  workdays: Day[]
  updated_at: string | null
  updated_by: string | null
}

export interface CalendarOverview {
  today: string
  warnings: string[]
  version: number
  package_years: [number, number]
  years: Array<{ year: number; source: Source }>
}

export interface CalendarChange {
  id: number
  year: number
  at: string
  actor: string
  actor_id: number | null
  action: 'replace' | 'import' | 'delete'
  reason: string
  added: string[]
  removed: string[]
  changed: string[]
}

export async function getOverview(): Promise<CalendarOverview> {
  const o = await withAuth(async () => (await api.request<CalendarOverview>('GET', '/calendar')).data)
  calendarWarnings.value = o.warnings
  return o
}

export async function getYear(year: number): Promise<CalendarYear> {
  return withAuth(async () => (await api.request<CalendarYear>('GET', `/calendar/${year}`)).data)
}

export async function getChanges(year: number): Promise<CalendarChange[]> {
  return withAuth(
    async () => (await api.request<{ items: CalendarChange[] }>('GET', `/calendar/${year}/changes`)).data.items,
  )
}

export async function putYear(year: number, body: { holidays: Day[]; workdays: Day[]; reason: string }): Promise<CalendarYear> {
  return withAuth(async () => (await api.request<CalendarYear>('PUT', `/calendar/${year}`, { json: body })).data)
}

export async function importYear(year: number, file: File, reason: string): Promise<CalendarYear> {
  return withAuth(async () => {
    const form = new FormData()
    form.append('file', file, file.name)
    form.append('reason', reason)
    return (await api.request<CalendarYear>('POST', `/calendar/${year}/import`, { body: form })).data
  })
}

export async function deleteYear(year: number, reason: string): Promise<CalendarYear> {
  return withAuth(async () => (await api.request<CalendarYear>('DELETE', `/calendar/${year}`, { json: { reason } })).data)
}

/** "date,kind,name" lines (a header line is optional) → holidays and workdays. */
export function parseLines(text: string): { holidays: Day[]; workdays: Day[]; bad: number[] } {
  const holidays: Day[] = []
  const workdays: Day[] = []
  const bad: number[] = []
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim()
    if (!line || /^date\s*,/i.test(line)) return
    // date, kind, then the name (which may itself hold commas)
    const m = /^([^,，\t]*)[,，\t]([^,，\t]*)(?:[,，\t](.*))?$/.exec(line)
    const date = (m?.[1] ?? '').trim()
    const kind = (m?.[2] ?? '').trim()
    const name = (m?.[3] ?? '').trim()
    if (!/^\d{4}-\d{2}-\d{2}$/.test(date) || (kind !== 'holiday' && kind !== 'workday')) bad.push(i + 1)
    else (kind === 'holiday' ? holidays : workdays).push({ date, name })
  })
  return { holidays, workdays, bad }
}

export function toLines(y: CalendarYear): string {
  const rows = [
    ...y.holidays.map((d) => ({ ...d, kind: 'holiday' })),
    ...y.workdays.map((d) => ({ ...d, kind: 'workday' })),
  ].sort((a, b) => a.date.localeCompare(b.date))
  return ['date,kind,name', ...rows.map((r) => `${r.date},${r.kind},${r.name}`)].join('\n')
}
