/**
 * The admin API (`/api/v1/admin`, docs/api.md "Admin"): typed calls over the console's shared
 * client. Every call goes through `withAuth` so an expired session asks for the password and then
 * carries on (a half-filled form is kept).
 */
import { ROLES } from '@/shared/vocabulary'
import { ApiError, inLang } from '@/shared/api'
import type { GridCollection } from '@/shared/types'
import { api, withAuth } from '../../session'

export type Duty = 'full_time' | 'part_time' | 'grid_leader' | 'instructor'
export const DUTIES: Duty[] = ['full_time', 'part_time', 'grid_leader', 'instructor']
export { ROLES }
export type LimitUnit = 'work_hours' | 'work_days' | 'hours'
export const LIMIT_UNITS: LimitUnit[] = ['work_hours', 'work_days', 'hours']

export interface AdminDepartment {
  id: number
  code: string
  name: string
  region_code: string | null
  region_name: string | null
  active: boolean
  handler_count: number
}

export interface AdminCategory {
  id: number
  code: string
  name: string
  name_en: string
  level: 'major' | 'minor'
  major_code: string | null
  limit_value: number | null
  limit_unit: LimitUnit
  urgent_hours: number | null
  default_department_id: number | null
  active: boolean
  case_count: number
}

export interface UserDuty {
  grid_code: string
  duty: Duty
  duty_label?: string
  grid_name?: string | null
  grid_active?: boolean
}

export interface AdminUser {
  id: number
  username: string
  display_name: string
  role: string
  region_id: number | null
  region_code: string | null
  region_name: string | null
  department_id: number | null
  department_name: string | null
  phone: string
  active: boolean
  created_at: string | null
  duties: UserDuty[]
}

export interface DutyPerson {
  user_id: number
  username: string
  display_name: string
  role: string
  phone: string
  active: boolean
}

export interface AdminGrid {
  id: number
  code: string
  name: string
  kind: string
  subkind: string | null
  households: number | null
  community: { id: number; code: string; name: string }
  town: { id: number; code: string; name: string } | null
  duties: Record<Duty, DutyPerson[]>
  unstaffed: boolean
}

export interface GridList {
  items: AdminGrid[]
  next_cursor: null
  counts: { grids: number; unstaffed: number }
}

export interface Problem {
  kind: string
  features: string[]
  message: string
  location: GeoJSON.Geometry | null
}

/** A code given to a grid or (with the `renumber` option) replacing a supplied one. */
export interface CodeChange {
  feature: string
  row: number
  old: string | null
  new: string
  reason: 'missing' | 'bad_code' | 'duplicate_code'
  source: 'previous_plan' | 'new_number'
}

export interface PlanReport {
  features: number
  valid: boolean
  errors: Problem[]
  warnings: Problem[]
  codes?: CodeChange[]
}

export interface Plan {
  id: number
  region: { id: number; code: string; name: string } | null
  version: number
  status: 'draft' | 'active' | 'retired'
  source_name: string
  grid_count: number
  valid: boolean
  error_count: number
  warning_count: number
  created_at: string | null
  created_by: { id: number; display_name: string } | null
  published_at: string | null
  retired_at: string | null
}

export interface RegionNode {
  id: number
  code: string
  name: string
  level: 'county' | 'town' | 'community'
  parent_code: string | null
  children?: RegionNode[]
}

type Query = Record<string, string | number | boolean | undefined | null>

async function get<T>(path: string, query?: Query): Promise<T> {
  return (await withAuth(() => api.request<T>('GET', path, { query }))).data
}

async function send<T>(method: string, path: string, json: unknown): Promise<T> {
  return (await withAuth(() => api.request<T>(method, path, { json }))).data
}

// -- departments ---------------------------------------------------------------------------
export const listDepartments = async (): Promise<AdminDepartment[]> =>
  (await get<{ items: AdminDepartment[] }>('/admin/departments')).items
export const createDepartment = async (body: { code: string; name: string; region_code?: string }): Promise<AdminDepartment> =>
  (await send<{ department: AdminDepartment }>('POST', '/admin/departments', body)).department
export const updateDepartment = async (id: number, body: { name?: string; active?: boolean }): Promise<AdminDepartment> =>
  (await send<{ department: AdminDepartment }>('PATCH', `/admin/departments/${id}`, body)).department

// -- categories ----------------------------------------------------------------------------
/** A routing rule (越级, docs/api.md "Routing rules"): per category × urgency, the level first. */
export interface RoutingRule {
  id: number
  category_id: number
  category_code: string | null
  category_name: string | null
  urgency: 'normal' | 'urgent'
  level: 'city' | 'county' | 'town'
  level_label: string
  copy_department_ids: number[]
  enabled: boolean
  updated_at: string | null
  updated_by_id: number | null
}
export interface RoutingRuleBody {
  category_id: number
  urgency: 'normal' | 'urgent'
  level: 'city' | 'county' | 'town'
  copy_department_ids: number[]
  enabled: boolean
}
export const listRoutingRules = async (): Promise<RoutingRule[]> =>
  (await get<{ items: RoutingRule[] }>('/admin/routing-rules')).items
export const putRoutingRule = async (body: RoutingRuleBody): Promise<RoutingRule> =>
  (await send<{ rule: RoutingRule }>('PUT', '/admin/routing-rules', body)).rule

export const listCategories = async (): Promise<AdminCategory[]> =>
  (await get<{ items: AdminCategory[] }>('/admin/categories')).items
export const createCategory = async (body: Partial<AdminCategory>): Promise<AdminCategory> =>
  (await send<{ category: AdminCategory }>('POST', '/admin/categories', body)).category
export const updateCategory = async (id: number, body: Partial<AdminCategory>): Promise<AdminCategory> =>
  (await send<{ category: AdminCategory }>('PATCH', `/admin/categories/${id}`, body)).category

// -- users ---------------------------------------------------------------------------------
export interface UserFilter {
  role?: string
  q?: string
  active?: string
  department?: string
  region?: string
}
export const listUsers = (f: UserFilter, cursor?: string | null, limit = 100): Promise<{ items: AdminUser[]; next_cursor: string | null }> =>
  get('/admin/users', { ...f, cursor: cursor ?? undefined, limit })
export const getUser = async (id: number): Promise<AdminUser> => (await get<{ user: AdminUser }>(`/admin/users/${id}`)).user
export interface UserBody {
  username?: string
  display_name?: string
  role?: string
  password?: string
  region_code?: string | null
  department_id?: number | null
  phone?: string
  active?: boolean
}
export const createUser = async (body: UserBody): Promise<AdminUser> =>
  (await send<{ user: AdminUser }>('POST', '/admin/users', body)).user
export const updateUser = (id: number, body: UserBody): Promise<{ user: AdminUser; sessions_ended: boolean }> =>
  send('PATCH', `/admin/users/${id}`, body)
export const setDuties = async (id: number, duties: Array<{ grid_code: string; duty: Duty }>): Promise<AdminUser> =>
  (await send<{ user: AdminUser }>('PUT', `/admin/users/${id}/grids`, { duties })).user

// -- grids ---------------------------------------------------------------------------------
export const listGrids = (q: { region?: string; unstaffed?: boolean; q?: string } = {}): Promise<GridList> =>
  get('/admin/grids', { region: q.region, unstaffed: q.unstaffed ? 1 : undefined, q: q.q })
export const gridLayer = (region?: string, zoom = 14): Promise<GridCollection> => get('/grids.geojson', { region, zoom })

// -- regions -------------------------------------------------------------------------------
export const regionTree = async (): Promise<RegionNode[]> => (await get<{ items: RegionNode[] }>('/regions/tree')).items

// -- grid plans ----------------------------------------------------------------------------
export const listPlans = async (): Promise<Plan[]> => (await get<{ items: Plan[] }>('/admin/plans')).items
export const getPlan = (id: number): Promise<{ plan: Plan; report: PlanReport | null }> => get(`/admin/plans/${id}`)
export const publishPlan = async (id: number): Promise<Plan> =>
  (await send<{ plan: Plan }>('POST', `/admin/plans/${id}/publish`, {})).plan

export interface PlanOptions {
  crs: string
  gap_width: string
  make_valid: boolean
  /** Replace malformed and duplicated codes (each one reported); without it they are errors. */
  renumber: boolean
  publish: boolean
}

/** The outcome of an upload: stored (201) or refused with its report (422 `plan_invalid`). */
export type UploadOutcome =
  | { ok: true; plan: Plan; report: PlanReport }
  | { ok: false; message: string; report: PlanReport }

export async function uploadPlan(file: File, opts: PlanOptions): Promise<UploadOutcome> {
  const run = async (): Promise<UploadOutcome> => {
    const form = new FormData()
    form.append('file', file, file.name)
    if (opts.crs) form.append('crs', opts.crs)
    if (opts.gap_width) form.append('gap_width', opts.gap_width)
    form.append('make_valid', opts.make_valid ? '1' : '0')
    form.append('renumber', opts.renumber ? '1' : '0')
    form.append('publish', opts.publish ? '1' : '0')
    try {
      const { data } = await api.request<{ plan: Plan; report: PlanReport }>('POST', '/admin/plans', {
        body: form,
        timeoutMs: 300_000,
      })
      return { ok: true, plan: data.plan, report: data.report }
    } catch (err) {
      if (err instanceof ApiError && err.status === 422 && err.body.report) {
        return { ok: false, message: err.message, report: err.body.report as PlanReport }
      }
      throw err
    }
  }
  return withAuth(run)
}

/** "中文 / English" → the half for the current language. */
export function half(message: string, lang: 'zh' | 'en'): string {
  return inLang(message, lang)
}
