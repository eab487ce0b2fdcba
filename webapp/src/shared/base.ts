/**
 * Base data (人、地、事、物、组织; DESIGN §10, issue 16): the records of /api/v1/base as both apps
 * see them, their labels, and the checks a form can make before the server does (GB 11643
 * identity numbers, GB 32100 credit codes). Identity numbers and phones arrive masked; the clear
 * value only through a reveal with a reason (console).
 */
import { reactive } from 'vue'

export type PlaceKind = 'estate' | 'building' | 'unit' | 'room'
export type Registration = 'registered' | 'floating'
export type Relation = 'head' | 'spouse' | 'child' | 'parent' | 'grandchild' | 'grandparent' | 'sibling' | 'other'
export type ResidentStatus = 'active' | 'moved_out' | 'deceased' | 'cancelled'
export type Cycle = 'weekly' | 'biweekly' | 'monthly' | 'quarterly'
export type DueStatus = 'due' | 'done' | 'overdue' | 'later'

export interface Place {
  id: number
  uuid: string
  kind: PlaceKind
  parent_id: number | null
  name: string
  address: string | null
  lon: number | null
  lat: number | null
  grid_code: string | null
  community?: string | { id: number; name: string } | null
  town?: string | { id: number; name: string } | null
  version: number
}

export interface Household {
  id: number
  uuid: string
  place_id: number
  number: string | null
  head_id: number | null
  note: string | null
  grid_code: string | null
  address?: string | null
  version: number
}

export interface TagBrief {
  id?: number
  kind_code: string
  kind_name?: string
  level: number
  level_name?: string
  sensitive?: boolean
  version?: number
}

export interface Resident {
  id: number
  uuid: string
  name: string
  /** Masked ("6401**********1234"). */
  id_number: string | null
  sex: 'male' | 'female' | null
  birth_date?: string | null
  birth_year?: number | null
  age?: number | null
  /** Masked ("138****5678"). */
  phone: string | null
  registration: Registration
  relation: Relation
  household_id: number | null
  status: ResidentStatus
  grid_code?: string | null
  version: number
  tags: TagBrief[]
}

export interface KindLevel {
  level: number
  name: string
  cycle: Cycle
  cycle_days?: number
}

export interface Kind {
  id: number
  code: string
  name: string
  sensitive: boolean
  levels: KindLevel[]
  active: boolean
}

export interface DueItem {
  tag_id: number
  resident_id: number
  resident_name: string
  household_id: number | null
  kind_code: string
  kind_name: string
  level: number
  cycle: Cycle
  last_visit_at: string | null
  due_on: string
  status: DueStatus
}

export interface DueAnswer {
  week?: { from: string; to: string }
  counts: { due: number; done: number; overdue: number }
  items: DueItem[]
}

export interface Bundle {
  generated_at: string
  grids: Array<{ code: string; name: string } | string>
  places: Place[]
  households: Household[]
  residents: Resident[]
  due: DueAnswer
  kinds: Kind[]
  /** Labels of the base vocabulary (GET /base/vocabulary), kept with the bundle on the phone. */
  vocabulary?: BaseVocabulary
}

export interface Visit {
  id: number
  uuid: string
  resident_id: number | null
  household_id: number | null
  visited_at: string
  note: string | null
  findings: string | null
  case_id: number | null
  visitor_id: number | null
  photos?: string[]
}

export interface Organisation {
  id: number
  uuid: string
  name: string
  credit_code: string | null
  kind: string
  address: string | null
  contact_name: string | null
  contact_phone: string | null
  grid_code: string | null
  active: boolean
  version: number
}

export interface LevelRequest {
  id: number
  tag_id: number
  kind_code: string
  resident_id: number
  resident_name: string | null
  from_level: number
  to_level: number
  reason: string
  status: string
  requested_by_id: number | null
  requested_at: string
  decided_by_id: number | null
  decided_at: string | null
  decision_note: string | null
}

export interface ReadRow {
  id: number
  at: string
  actor: { id: number; display_name: string } | null
  actor_role: string
  resident_id: number | null
  purpose: string
  endpoint: string
  reason: string | null
  fields: string | null
  count: number | null
}

// --- labels ----------------------------------------------------------------------------------

type Labels = Record<string, { zh: string; en: string }>

/** GET /base/vocabulary: the server's labels of the base vocabularies (server/domain/base_data.py). */
export interface BaseVocabulary {
  place_kinds: Labels
  registrations: Labels
  relations: Labels
  statuses: Labels
  life_events: Labels
  organisation_kinds: Labels
  cycles: Labels
  due: Labels
  kinds: Kind[]
}

/**
 * Take the server's labels: the tables below are the built-in copy (what a phone shows before
 * its first download) and are overwritten in place, so a label changed on the server is what
 * both apps show.
 */
export function setBaseVocabulary(v: BaseVocabulary | null | undefined): void {
  if (!v) return
  const take = (target: Record<string, string>, src: Labels | undefined): void => {
    for (const [k, l] of Object.entries(src ?? {})) if (l?.zh) target[k] = l.zh
  }
  take(PLACE_KIND_LABEL, v.place_kinds)
  take(REGISTRATION_LABEL, v.registrations)
  take(RELATION_LABEL, v.relations)
  take(STATUS_LABEL, v.statuses)
  take(EVENT_LABEL, v.life_events)
  take(ORG_KIND_LABEL, v.organisation_kinds)
  take(CYCLE_LABEL, v.cycles)
  take(DUE_LABEL, v.due)
}

export const RELATION_LABEL: Record<Relation, string> = reactive({
  head: '户主',
  spouse: '配偶',
  child: '子女',
  parent: '父母',
  grandchild: '孙子女',
  grandparent: '祖父母',
  sibling: '兄弟姐妹',
  other: '其他',
})
export const RELATIONS = Object.keys(RELATION_LABEL) as Relation[]

export const REGISTRATION_LABEL: Record<Registration, string> = reactive({ registered: '户籍', floating: '流动' })
export const STATUS_LABEL: Record<ResidentStatus, string> = reactive({ active: '在住', moved_out: '已迁出', deceased: '已死亡', cancelled: '已注销' })
export const EVENT_LABEL: Record<string, string> = reactive({ move_in: '迁入', move_out: '迁出', death: '死亡', cancel: '注销', restore: '恢复' })
export const PLACE_KIND_LABEL: Record<PlaceKind, string> = reactive({ estate: '小区/自然村', building: '楼栋', unit: '单元', room: '房屋' })
export const CYCLE_LABEL: Record<Cycle, string> = reactive({ weekly: '每周', biweekly: '每两周', monthly: '每月', quarterly: '每季度' })
export const DUE_LABEL: Record<DueStatus, string> = reactive({ due: '本周应访', done: '已访', overdue: '逾期', later: '未到期' })
export const ORG_KIND_LABEL: Record<string, string> = reactive({
  enterprise: '企业',
  individual: '个体工商户',
  social_org: '社会组织',
  government: '机关',
  institution: '事业单位',
  other: '其他',
})
export const PURPOSE_LABEL: Record<string, string> = {
  view: '查看',
  list: '列表',
  reveal: '查看完整信息',
  bundle: '离线下载',
  export: '导出',
  search: '查询',
}
export const FIELD_LABEL: Record<string, string> = { id_number: '身份证号', phone: '电话' }

export function sexLabel(s: string | null | undefined): string {
  return s === 'male' ? '男' : s === 'female' ? '女' : ''
}

export function placeName(p: Pick<Place, 'name' | 'kind'>): string {
  return p.kind === 'room' && /^\d+$/.test(p.name) ? `${p.name}室` : p.name
}

export function regionName(v: Place['community']): string {
  if (!v) return ''
  return typeof v === 'string' ? v : v.name
}

// --- checks ------------------------------------------------------------------------------------

const ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
const ID_CHECK = '10X98765432'

/**
 * A 公民身份号码 (GB 11643-1999): 18 characters, the last the ISO 7064 MOD 11-2 check
 * character, a real birth date in 7–14. Answers the problem in words, or '' when fine; the
 * server checks again.
 */
export function idNumberProblem(raw: string, today = new Date()): string {
  const v = raw.trim().toUpperCase()
  if (!v) return '请填写身份证号'
  if (!/^\d{17}[\dX]$/.test(v)) return '身份证号应为 18 位（最后一位可为 X）'
  const y = Number(v.slice(6, 10))
  const m = Number(v.slice(10, 12))
  const d = Number(v.slice(12, 14))
  const born = new Date(Date.UTC(y, m - 1, d))
  if (born.getUTCFullYear() !== y || born.getUTCMonth() !== m - 1 || born.getUTCDate() !== d || y < 1900 || born.getTime() > today.getTime())
    return '身份证号中的出生日期不对'
  let sum = 0
  for (let i = 0; i < 17; i++) sum += Number(v[i]) * ID_WEIGHTS[i]!
  if (ID_CHECK[sum % 11] !== v[17]) return '身份证号校验位不对，请核对'
  return ''
}

/** Birth date and sex an identity number gives (checked first with idNumberProblem). */
export function idNumberFacts(v: string): { birth: string; sex: 'male' | 'female' } {
  const s = v.trim()
  return { birth: `${s.slice(6, 10)}-${s.slice(10, 12)}-${s.slice(12, 14)}`, sex: Number(s[16]) % 2 ? 'male' : 'female' }
}

/** The check character of 17 digits (for tests and the demo). */
export function idCheckChar(first17: string): string {
  let sum = 0
  for (let i = 0; i < 17; i++) sum += Number(first17[i]) * ID_WEIGHTS[i]!
  return ID_CHECK[sum % 11]!
}

export function phoneProblem(raw: string): string {
  const v = raw.trim()
  if (!v) return ''
  return /^[\d+\- ]{7,20}$/.test(v) ? '' : '电话号码格式不对'
}

export function ageOf(r: Pick<Resident, 'age' | 'birth_date' | 'birth_year'>, today = new Date()): number | null {
  if (r.age != null) return r.age
  if (r.birth_date && /^\d{4}-\d{2}-\d{2}$/.test(r.birth_date)) {
    const [y, m, d] = r.birth_date.split('-').map(Number) as [number, number, number]
    let a = today.getFullYear() - y
    if (today.getMonth() + 1 < m || (today.getMonth() + 1 === m && today.getDate() < d)) a--
    return a
  }
  if (r.birth_year) return today.getFullYear() - r.birth_year
  return null
}
