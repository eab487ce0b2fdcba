/**
 * The metrics API (`/api/v1/metrics`, docs/metrics.md §6): figures for a scope, period and
 * as-of moment, grouped or not; the cases behind one number; scorecards; export links.
 */
import { buildQuery } from '@/shared/api'
import type { GridCollection } from '@/shared/types'
import { api, withAuth } from '../../session'

export type MetricKind = 'count' | 'rate' | 'hours'
export type GroupBy = 'town' | 'community' | 'grid' | 'department' | 'category' | 'worker' | 'centre' | 'level' | 'week' | 'month'

export interface MetricDef {
  key: string
  zh: string
  en: string
  kind: MetricKind
  family: string
  formula?: string
  definition?: string
  numerator?: string | null
  denominator?: string | null
  higher_is_better?: boolean | null
}

export interface Definitions {
  metrics: MetricDef[]
  /** The assessment indicators (docs/metrics.md §9): on scorecards only. */
  indicators?: MetricDef[]
  scorecard_kinds?: Array<{ key: ScorecardKind; zh: string; en: string }>
  [k: string]: unknown
}

export type ScorecardKind = 'worker' | 'dispatcher' | 'town' | 'department'


export type Values = Record<string, number | null>

export interface GroupLabel {
  key?: unknown
  id?: number
  code?: string
  name?: string
  [k: string]: unknown
}

export interface MetricGroup {
  key: string | number | null
  label: GroupLabel
  values: Values
}

export interface Figures {
  period: { from: string; to: string }
  as_of: string
  scope: Array<{ kind: string; code?: string; id?: number; name?: string }>
  by: GroupBy | null
  total: Values
  groups?: MetricGroup[]
}

export interface DrillItem {
  case_id?: number
  number: string | null
  weight?: number
  [k: string]: unknown
}

export interface Drill {
  metric: string
  part: 'numerator' | 'denominator'
  counted?: string
  count: number
  total_items: number
  items: DrillItem[]
}

export interface ScoreLine {
  metric: string
  name?: string
  mode: string
  weight: number
  target?: number | null
  value: number | null
  score: number | null
}

export interface Scorecard {
  subject: { id: number; name: string; [k: string]: unknown }
  score: number | null
  grade: string | null
  rank: number | null
  lines: ScoreLine[]
  figures?: Values
  cards?: { yellow: number; red: number; deduction: number }
}

/** The question every endpoint shares. */
export interface Question {
  scope: string[]
  from: string
  to: string
  as_of?: string
}

export function params(q: Question): Record<string, string | undefined | string[]> {
  return { scope: q.scope.length ? q.scope : undefined, from: q.from, to: q.to, as_of: q.as_of || undefined }
}

export async function definitions(): Promise<Definitions> {
  return (await withAuth(() => api.request<Definitions>('GET', '/metrics/definitions'))).data
}

export async function figures(q: Question, by?: GroupBy | null): Promise<Figures> {
  return (await withAuth(() => api.request<Figures>('GET', '/metrics', { query: { ...params(q), by: by ?? undefined } }))).data
}

export async function drill(
  q: Question,
  metric: string,
  opts: { part?: 'numerator' | 'denominator'; by?: GroupBy | null; group?: string | null; offset?: number; limit?: number } = {},
): Promise<Drill> {
  const query = {
    ...params(q),
    metric,
    part: opts.part ?? undefined,
    by: opts.by ?? undefined,
    group: opts.by ? (opts.group ?? 'none') : undefined,
    offset: opts.offset ?? 0,
    limit: opts.limit ?? 100,
  }
  return (await withAuth(() => api.request<Drill>('GET', '/metrics/cases', { query }))).data
}

export async function scorecards(q: Question, kind: ScorecardKind): Promise<{ items: Scorecard[] }> {
  return (await withAuth(() => api.request<{ items: Scorecard[] }>('GET', '/metrics/scorecards', { query: { ...params(q), kind } }))).data
}

/** The records behind one assessment indicator of one person (`GET /metrics/records`). */
export async function records(
  q: Question,
  kind: ScorecardKind,
  subject: number,
  metric: string,
  opts: { part?: 'numerator' | 'denominator'; offset?: number; limit?: number } = {},
): Promise<Drill> {
  const query = { ...params(q), kind, subject, metric, part: opts.part ?? undefined, offset: opts.offset ?? 0, limit: opts.limit ?? 100 }
  return (await withAuth(() => api.request<Drill>('GET', '/metrics/records', { query }))).data
}

/** A link the browser downloads with the session cookie. */
export function exportUrl(q: Question, format: 'xlsx' | 'csv', by: GroupBy | null, report: 'metrics' | ScorecardKind = 'metrics'): string {
  return `${api.base}/metrics/export.${format}${buildQuery({ ...params(q), by: by ?? undefined, report })}`
}

export async function gridPolygons(zoom = 13): Promise<GridCollection> {
  return (await withAuth(() => api.request<GridCollection>('GET', '/grids.geojson', { query: { zoom } }))).data
}

/**
 * Region polygons (towns or communities) when the server offers them; null otherwise — the map
 * then colours each grid by its town's or community's value.
 */
export async function regionPolygons(level: 'town' | 'community'): Promise<GridCollection | null> {
  try {
    const { data } = await api.request<GridCollection>('GET', '/regions.geojson', { query: { level } })
    return data?.type === 'FeatureCollection' && data.features.length ? data : null
  } catch {
    return null
  }
}
