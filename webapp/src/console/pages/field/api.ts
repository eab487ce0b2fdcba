/**
 * The field-work API of issue 17 for the console (docs/field-work.md): work logs, a worker's day
 * (grids, patrols with their tracks, cases, visits, check-in), supervisor comments and the
 * 补签 approvals. Typed calls over the shared client, each through `withAuth`.
 */
import { reactive } from 'vue'
import { ApiError, inLang } from '@/shared/api'
import type { GridCollection } from '@/shared/types'
import { uuid4 } from '@/shared/uuid'
import { locale } from '../../i18n'
import { api, withAuth } from '../../session'
import type { LineString } from './format'

type Query = Record<string, string | number | boolean | undefined | null>

async function get<T>(path: string, query?: Query): Promise<T> {
  return withAuth(async () => (await api.request<T>('GET', path, { query })).data)
}

async function post<T>(path: string, json: unknown): Promise<T> {
  return withAuth(async () => (await api.request<T>('POST', path, { json })).data)
}

/** An error in the console's language: the message, each field's problem, the code, the status. */
export function explain(err: unknown): { message: string; fields: Record<string, string>; code: string; status: number } {
  if (err instanceof ApiError) return { message: err.text(locale.value), fields: err.fieldsIn(locale.value), code: err.code, status: err.status }
  const message = err instanceof Error ? err.message : String(err)
  return { message: inLang(message, locale.value), fields: {}, code: '', status: 0 }
}

export interface WorkerRef {
  id: number
  name: string
}

/** A person named in an answer: `{id, name}` (or `display_name`), or just a name. */
export type PersonRef = WorkerRef | { id?: number; display_name?: string; name?: string } | string | null

export function personName(p: PersonRef | undefined): string {
  if (!p) return ''
  if (typeof p === 'string') return p
  return ('name' in p && p.name) || ('display_name' in p && p.display_name) || (p.id != null ? `#${p.id}` : '')
}

export interface WorkLogRow {
  worker: WorkerRef
  date: string
  check_in_status: string | null
  patrols: number
  distance_m: number
  duration_s: number
  visits: number
  reports: number
  verifications: number
  comments: number
}

export interface Patrol {
  uuid: string
  worker?: WorkerRef
  grid_code: string | null
  started_at: string
  ended_at: string | null
  points: number
  distance_m: number
  duration_s: number
  coverage: number | null
  track?: LineString | null
}

export interface DayCase {
  id: number
  number: string
  title?: string | null
  category?: string | { name?: string; code?: string } | null
  state: string
  reported_at: string
  lon: number | null
  lat: number | null
  patrol_uuid: string | null
}

export interface DayVisit {
  id: number
  uuid: string
  visited_at: string
  lon: number | null
  lat: number | null
  patrol_uuid: string | null
  household?: string | null
  resident?: string | null
  label?: string | null
}

/** A label as the server sends it next to a name. */
export interface ZhEn {
  zh: string
  en: string
}

export interface CheckIn {
  id: number
  uuid: string
  worker: WorkerRef
  day: string
  at: string
  received_at?: string | null
  grid_code: string | null
  late: boolean
  makeup: boolean
  reason: string | null
  status: string
  /** the server's label of the status (GET /check-ins) */
  status_label?: ZhEn | null
  decided_by?: PersonRef
  decided_at: string | null
  decision_note: string | null
  lon: number | null
  lat: number | null
}

export interface WorkerDay {
  worker: WorkerRef
  date: string
  grids: GridCollection
  patrols: Patrol[]
  cases: DayCase[]
  visits: DayVisit[]
  check_in: CheckIn | null
  totals?: Record<string, unknown>
}

export interface LogEntry {
  at: string
  kind: string
  /** the server's label of the kind */
  label?: ZhEn | null
  ref: Record<string, unknown> | string | number | null
  text: string
}

export interface LogComment {
  id: number
  author: PersonRef
  text: string
  created_at: string
}

export interface WorkLogDay {
  worker: WorkerRef
  date: string
  entries: LogEntry[]
  totals?: Record<string, unknown>
  comments: LogComment[]
}

export const workLogs = (date: string, regionId?: number | null) =>
  get<{ items: WorkLogRow[] }>('/work-logs', { date, region_id: regionId ?? undefined })
export const workLogDay = (workerId: number, date: string) => get<WorkLogDay>(`/work-logs/${workerId}/${date}`)
export const workerDay = (workerId: number, date: string) => get<WorkerDay>(`/workers/${workerId}/day`, { date })

/** A comment with its client UUID (kept by the caller until the server has it: a resend is idempotent). */
export const addComment = (workerId: number, date: string, text: string, uuid: string = uuid4()) =>
  post<{ comment: LogComment } | LogComment>(`/work-logs/${workerId}/${date}/comments`, { uuid, text })

/** The labels of check-in statuses seen in the server's answers (each check-in carries its own). */
export const statusLabels: Record<string, ZhEn> = reactive({})

export async function checkIns(q: { status?: string; date?: string; worker_id?: number; limit?: number }): Promise<{ items: CheckIn[] }> {
  const a = await get<{ items: CheckIn[] }>('/check-ins', q)
  for (const c of a.items) if (c.status_label) statusLabels[c.status] = c.status_label
  return a
}

/** The two decisions on a 补签 (the body's `decision`; the word reject is also a case action's). */
export const DECISIONS = { approve: 'approve', reject: 'reject' } as const
export type Decision = (typeof DECISIONS)[keyof typeof DECISIONS]
/** A note is sent only when written (the server holds a note to the reason rule). */
export const decideCheckIn = (id: number, decision: Decision, note: string) =>
  post<CheckIn>(`/check-ins/${id}/decision`, note ? { decision, note } : { decision })

export interface RegionOption {
  id: number
  code: string
  name: string
  level: string
  depth: number
}

/** The regions of my jurisdiction as one list (county, its towns, their communities), for a filter. */
export async function regionOptions(): Promise<RegionOption[]> {
  interface Node {
    id: number
    code: string
    name: string
    level: string
    children?: Node[]
  }
  const tree = (await get<{ items: Node[] }>('/regions/tree')).items
  const out: RegionOption[] = []
  const walk = (nodes: Node[], depth: number): void => {
    for (const n of nodes) {
      out.push({ id: n.id, code: n.code, name: n.name, level: n.level, depth })
      walk(n.children ?? [], depth + 1)
    }
  }
  walk(tree, 0)
  return out
}
