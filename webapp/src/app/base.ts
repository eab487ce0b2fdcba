/**
 * 基础信息/走访 on the phone (issue 16): the worker's grids' buildings, households, residents and
 * due visits, from GET /base/offline into IndexedDB (kv `baseBundle`), refreshed when online.
 * Sensitive fields arrive masked and stay masked here; nothing clear is stored on the phone.
 *
 * Every edit, new person and visit is an outbox item of kind 'base' (outbox.ts): a UUID, the
 * record's base_version, sent oldest first; what is not yet confirmed is shown on top of the
 * bundle (`pending`), and a 409 version_conflict is a conflict the worker settles: keep mine
 * (send again on the server's version) or take theirs (drop mine, show the server's record).
 */
import { computed, reactive } from 'vue'
import { ApiError } from '@/shared/api'
import { uuid4 } from '@/shared/uuid'
import { setBaseVocabulary, type BaseVocabulary } from '@/shared/base'
import type { Bundle, DueItem, Household, Place, Registration, Relation, Resident } from '@/shared/base'
import { kvDelete, kvGet, kvSet, type OutboxItem } from './db'
import type { NewPhoto } from './outbox'
import { api, markExpired } from './session'
import { db, getOutbox, noteNetwork, plain, state } from './store'
import { syncNow } from './sync'

export interface StoredBundle {
  userId: number
  fetchedAt: number
  bundle: Bundle
}

export interface BaseState {
  bundle: Bundle | null
  fetchedAt: number
  loading: boolean
  error: string
}

export const base: BaseState = reactive({ bundle: null, fetchedAt: 0, loading: false, error: '' }) as BaseState

/** The phone's copy, for the signed-in worker only. */
export async function loadBase(): Promise<void> {
  if (!db || !state.session) return
  const stored = await kvGet(db, 'baseBundle')
  if (stored && stored.userId === state.session.user.id) {
    base.bundle = stored.bundle
    base.fetchedAt = stored.fetchedAt
    setBaseVocabulary(stored.bundle.vocabulary)
  }
}

/** Drop the phone's copy (signed out, or another account signed in). */
export async function forgetBase(): Promise<void> {
  base.bundle = null
  base.fetchedAt = 0
  if (db) await kvDelete(db, 'baseBundle')
}

let refreshing: Promise<boolean> | null = null
let refreshAgain = false

/**
 * Fetch the bundle (quiet when offline); true when the phone's copy is fresh. Asked again while
 * a fetch runs, one more follows it (the first may have left before my items arrived). The copy
 * is dated when its request left, so an item confirmed during the fetch stays shown on top.
 */
export function refreshBase(): Promise<boolean> {
  if (refreshing) {
    refreshAgain = true
    return refreshing
  }
  refreshing = (async () => {
    if (!db || !state.session) return false
    base.loading = true
    const asked = Date.now()
    try {
      const ans = await api.request<Bundle>('GET', '/base/offline')
      // the labels, with the data (a phone offline still shows the server's words)
      const vocab = await api.request<BaseVocabulary>('GET', '/base/vocabulary').catch(() => null)
      if (vocab) ans.data.vocabulary = vocab.data
      setBaseVocabulary(ans.data.vocabulary)
      const stored: StoredBundle = { userId: state.session.user.id, fetchedAt: asked, bundle: ans.data }
      await kvSet(db, 'baseBundle', plain(stored))
      base.bundle = ans.data
      base.fetchedAt = stored.fetchedAt
      base.error = ''
      return true
    } catch (err) {
      noteNetwork(err)
      if (err instanceof ApiError) {
        if (err.status === 401) markExpired()
        base.error = err.zh
      }
      return false
    } finally {
      base.loading = false
      refreshing = null
      if (refreshAgain) {
        refreshAgain = false
        void refreshBase()
      }
    }
  })()
  return refreshing
}

/** After the outbox confirmed base items: the bundle is read again (versions, new ids). */
export function baseItemsSent(items: OutboxItem[]): void {
  if (items.some((i) => i.kind === 'base' && i.state === 'sent' && (i.sentAt ?? 0) > base.fetchedAt)) void refreshBase()
}

// --- what is on the phone, with what waits in the outbox on top --------------------------------

/** Base items of the signed-in worker that the bundle does not yet reflect. */
const overlay = computed(() =>
  state.outbox.filter(
    (i) => i.kind === 'base' && i.userId === state.session?.user.id && (i.state !== 'sent' || (i.sentAt ?? 0) > base.fetchedAt),
  ),
)

export interface ResidentView extends Resident {
  /** Changes of mine not yet confirmed by the server. */
  pending: boolean
  /** A change of mine that the server refused as conflicting: the worker settles it. */
  conflict: OutboxItem | null
  /** A person I added, not yet on the server (no id yet: `id` is 0). */
  provisional: boolean
  /** The outbox item of a provisional person. */
  itemId?: string
}

function isEdit(i: OutboxItem): boolean {
  return i.request?.method === 'PATCH' && Boolean(i.recordKey?.startsWith('resident:'))
}

function editsOf(id: number): OutboxItem[] {
  return overlay.value.filter((i) => i.recordKey === `resident:${id}` && isEdit(i)).sort((a, b) => a.seq - b.seq)
}

/** A resident as the worker should see it: the bundle's copy with my edits applied. */
export function viewResident(r: Resident): ResidentView {
  const view: ResidentView = { ...r, pending: false, conflict: null, provisional: false }
  for (const e of editsOf(r.id)) {
    if (e.state === 'sent') {
      const rec = e.baseResult?.record as Partial<Resident> | null | undefined
      if (rec) Object.assign(view, rec, { tags: rec.tags ?? view.tags })
      continue
    }
    if (e.state === 'conflict') view.conflict = e
    const changes = { ...e.payload }
    delete changes.base_version
    delete changes.uuid
    Object.assign(view, changes)
    if (typeof changes.phone === 'string') view.phone = maskedPhone(changes.phone)
    view.pending = true
  }
  return view
}

function maskedPhone(v: string): string {
  const d = v.trim()
  return d.length >= 7 ? `${d.slice(0, 3)}****${d.slice(-4)}` : d
}

export function resident(id: number): ResidentView | null {
  const r = base.bundle?.residents.find((x) => x.id === id)
  return r ? viewResident(r) : null
}

/** The people of a household: the bundle's, with my edits and the people I added. */
export function membersOf(householdId: number): ResidentView[] {
  const out = peopleIn(householdId).map(viewResident)
  for (const i of overlay.value) {
    if (i.request?.method !== 'POST' || i.request.path !== '/base/residents' || i.payload.household_id !== householdId) continue
    if (i.state === 'sent' && i.baseResult?.id && out.some((r) => r.id === i.baseResult?.id)) continue
    const rec = i.state === 'sent' ? (i.baseResult?.record as Resident | null | undefined) : null
    if (rec?.id) {
      // confirmed, not yet in the phone's copy: the server's answer (masked)
      out.push({ ...rec, tags: rec.tags ?? [], pending: false, conflict: null, provisional: false })
      continue
    }
    const p = i.payload
    out.push({
      id: i.baseResult?.id ?? 0,
      uuid: i.id,
      name: String(p.name ?? ''),
      id_number: typeof p.id_number === 'string' ? `${p.id_number.slice(0, 4)}**********${p.id_number.slice(-4)}` : null,
      sex: typeof p.id_number === 'string' && p.id_number.length === 18 ? (Number(p.id_number[16]) % 2 ? 'male' : 'female') : p.sex === 'male' || p.sex === 'female' ? p.sex : null,
      birth_date: typeof p.id_number === 'string' ? `${p.id_number.slice(6, 10)}-${p.id_number.slice(10, 12)}-${p.id_number.slice(12, 14)}` : typeof p.born_on === 'string' ? p.born_on : null,
      phone: typeof p.phone === 'string' && p.phone ? maskedPhone(p.phone) : null,
      registration: (p.registration as Registration) ?? 'registered',
      relation: (p.relation as Relation) ?? 'other',
      household_id: householdId,
      status: 'active',
      version: 0,
      tags: [],
      pending: i.state !== 'sent',
      conflict: null,
      provisional: i.state !== 'sent',
      itemId: i.id,
    })
  }
  const order: Relation[] = ['head', 'spouse', 'child', 'parent', 'grandparent', 'grandchild', 'sibling', 'other']
  return out.sort((a, b) => order.indexOf(a.relation) - order.indexOf(b.relation))
}

// indexes over the bundle (a worker's ~500 households, ~1,500 people): lookups stay O(1)
const placeIndex = computed(() => new Map((base.bundle?.places ?? []).map((p) => [p.id, p])))
const householdIndex = computed(() => new Map((base.bundle?.households ?? []).map((h) => [h.id, h])))
const peopleIndex = computed(() => {
  const m = new Map<number, Resident[]>()
  for (const r of base.bundle?.residents ?? []) {
    if (r.household_id == null) continue
    const list = m.get(r.household_id) ?? []
    list.push(r)
    m.set(r.household_id, list)
  }
  return m
})

export function household(id: number): Household | null {
  return householdIndex.value.get(id) ?? null
}

export function place(id: number | null | undefined): Place | null {
  if (id == null) return null
  return placeIndex.value.get(id) ?? null
}

/** The people the phone's copy has in a household (without my pending changes). */
export function peopleIn(householdId: number): Resident[] {
  return peopleIndex.value.get(householdId) ?? []
}

/** "幸福小区 12号楼 1单元 301室" for a place, walking up its parents. */
export function placePath(id: number | null | undefined): string {
  const names: string[] = []
  let p = place(id)
  for (let k = 0; p && k < 6; k++) {
    names.unshift(p.kind === 'room' && /^\d+$/.test(p.name) ? `${p.name}室` : p.name)
    p = place(p.parent_id)
  }
  return names.join(' ')
}

/** Buildings (and estates with rooms straight under them) with their households, for browsing. */
export interface BuildingGroup {
  place: Place
  path: string
  households: Household[]
}

export function buildings(): BuildingGroup[] {
  const b = base.bundle
  if (!b) return []
  const byPlace = new Map<number, Household[]>()
  for (const h of b.households) {
    // the building a household's room belongs to (room → unit → building)
    let p = place(h.place_id)
    while (p && p.kind !== 'building' && p.kind !== 'estate' && p.parent_id != null) p = place(p.parent_id)
    const key = p?.id ?? h.place_id
    const list = byPlace.get(key) ?? []
    list.push(h)
    byPlace.set(key, list)
  }
  const out: BuildingGroup[] = []
  for (const [id, hs] of byPlace) {
    const p = place(id)
    if (!p) continue
    const paths = new Map(hs.map((h) => [h.id, placePath(h.place_id)]))
    hs.sort((x, y) => (paths.get(x.id) ?? '').localeCompare(paths.get(y.id) ?? '', 'zh-CN', { numeric: true }))
    out.push({ place: p, path: placePath(id), households: hs })
  }
  return out.sort((x, y) => x.path.localeCompare(y.path, 'zh-CN'))
}

// --- visits due --------------------------------------------------------------------------------

export function dueItems(): DueItem[] {
  return base.bundle?.due?.items ?? []
}

/** Residents and households I visited since the bundle was made (queued or just sent). */
const visitedLocally = computed(() => {
  const residents = new Set<number>()
  const households = new Set<number>()
  for (const i of overlay.value) {
    if (i.request?.path !== '/base/visits') continue
    if (typeof i.payload.resident_id === 'number') residents.add(i.payload.resident_id)
    if (typeof i.payload.household_id === 'number') households.add(i.payload.household_id)
  }
  return { residents, households }
})

/** A due item's status with my visits since the bundle counted (a visit queued offline is done). */
export function dueStatus(d: DueItem): DueItem['status'] {
  if (d.status === 'later') return d.status
  if (visitedLocally.value.residents.has(d.resident_id)) return 'done'
  return d.status
}

/**
 * 本周应访 · 已访 · 逾期, as the server counts them (应访 = every visit of this week: due now, done
 * and overdue), with my visits since the bundle counted as done.
 */
export const dueCounts = computed(() => {
  let due = 0
  let done = 0
  let overdue = 0
  for (const d of dueItems()) {
    const s = dueStatus(d)
    if (s === 'later') continue
    due++
    if (s === 'done') done++
    if (s === 'overdue') overdue++
  }
  return { due, done, overdue }
})

// --- queueing ----------------------------------------------------------------------------------

function lastOn(recordKey: string): OutboxItem | undefined {
  return state.outbox
    .filter((i) => i.recordKey === recordKey && i.state !== 'sent')
    .sort((a, b) => b.seq - a.seq)[0]
}

export type ResidentChanges = Partial<{ name: string; phone: string; registration: Registration; relation: Relation; id_number: string }>

/** Edit a resident (PATCH on the version the phone has; a second edit follows the first). */
export async function queueResidentEdit(r: Resident, changes: ResidentChanges): Promise<OutboxItem> {
  const key = `resident:${r.id}`
  const prev = lastOn(key)
  const server = base.bundle?.residents.find((x) => x.id === r.id)
  const item = await getOutbox().add({
    id: uuid4(),
    kind: 'base',
    request: { method: 'PATCH', path: `/base/residents/${r.id}` },
    recordKey: key,
    after: prev?.id,
    label: `修改人员 · ${changes.name ?? r.name}`,
    payload: { base_version: server?.version ?? r.version, ...changes },
  })
  void syncNow(true)
  return item
}

export interface NewResidentInput {
  uuid: string
  householdId: number
  name: string
  idNumber: string
  phone: string
  registration: Registration
  relation: Relation
  movedInOn: string
  /** 出生登记 without an identity number (idNumber ''): the birth date and sex instead. */
  bornOn?: string
  sex?: 'male' | 'female'
}

export async function queueNewResident(n: NewResidentInput): Promise<OutboxItem> {
  const payload: Record<string, unknown> = {
    name: n.name.trim(),
    registration: n.registration,
    relation: n.relation,
    household_id: n.householdId,
  }
  if (!n.idNumber.trim() && n.bornOn && n.sex) Object.assign(payload, { born_on: n.bornOn, sex: n.sex })
  else Object.assign(payload, { id_number: n.idNumber.trim().toUpperCase(), moved_in_on: n.movedInOn })
  if (n.phone.trim()) payload.phone = n.phone.trim()
  const item = await getOutbox().add({
    id: n.uuid,
    kind: 'base',
    request: { method: 'POST', path: '/base/residents' },
    recordKey: `household:${n.householdId}`,
    label: `新增人员 · ${n.name.trim()}`,
    payload,
  })
  void syncNow(true)
  return item
}

export interface VisitInput {
  uuid: string
  residentId: number | null
  householdId: number | null
  note: string
  findings: string
  lon: number | null
  lat: number | null
  photos: NewPhoto[]
  raiseCase: { categoryId: number; categoryName: string; description: string } | null
  who: string
}

export async function queueVisit(v: VisitInput): Promise<OutboxItem> {
  const payload: Record<string, unknown> = {
    visited_at: new Date().toISOString(),
    device_time: new Date().toISOString(),
    note: v.note.trim(),
    findings: v.findings.trim(),
  }
  if (v.residentId) payload.resident_id = v.residentId
  if (v.householdId) payload.household_id = v.householdId
  if (v.lon != null && v.lat != null) Object.assign(payload, { lon: v.lon, lat: v.lat })
  if (v.raiseCase) {
    payload.raise_case = { uuid: uuid4(), category_id: v.raiseCase.categoryId, description: v.raiseCase.description.trim() }
  }
  const item = await getOutbox().add({
    id: v.uuid,
    kind: 'base',
    request: { method: 'POST', path: '/base/visits' },
    label: `走访 · ${v.who}${v.raiseCase ? ` · 上报${v.raiseCase.categoryName}` : ''}`,
    payload,
    photos: v.photos,
  })
  void syncNow(true)
  return item
}

// --- settling a conflict -----------------------------------------------------------------------

/** Keep mine: send my change again on the version the server has now. */
export async function keepMine(item: OutboxItem): Promise<void> {
  const v = item.conflict?.current?.version
  if (typeof v !== 'number') return
  await getOutbox().fix(item.id, { payload: { base_version: v } })
  void syncNow(true)
}

/** Take theirs: drop my change and show the server's record. */
export async function takeTheirs(item: OutboxItem): Promise<void> {
  const cur = item.conflict?.current as Partial<Resident> | null | undefined
  await getOutbox().discard(item.id)
  if (cur && base.bundle && db && state.session && item.recordKey?.startsWith('resident:')) {
    const list = base.bundle.residents
    const k = list.findIndex((r) => r.id === cur.id)
    if (k >= 0) list[k] = { ...list[k]!, ...cur, tags: cur.tags ?? list[k]!.tags }
    await kvSet(db, 'baseBundle', plain({ userId: state.session.user.id, fetchedAt: base.fetchedAt, bundle: base.bundle }))
  }
}
