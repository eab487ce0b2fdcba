/**
 * The outbox, glued to the app: queueing reports and actions, sending them (on start, on coming
 * online, on becoming visible, on a timer), showing the outbox as it is, and asking the browser
 * to keep the phone's storage.
 */
import type { ActionName, CaseSummary, Category, NewAction, NewCase } from '@/shared/types'
import { label } from '@/shared/i18n'
import { Action, Role } from '@/shared/vocabulary'
import { uuid4 } from '@/shared/uuid'
import { kvGet, kvSet, type OutboxItem } from './db'
import type { NewPhoto } from './outbox'
import { refreshAll } from './cases'
import { baseItemsSent, refreshBase } from './base'
import { db, getOutbox, outbox, state } from './store'

/** A piece size override for tests and slow links (localStorage `wangge.pieceBytes`). */
export function pieceBytes(): number {
  try {
    const v = Number(localStorage.getItem('wangge.pieceBytes'))
    if (v >= 16 * 1024 && v <= 1024 * 1024) return v
  } catch {
    /* ignore */
  }
  return 1024 * 1024
}

export function baseDelayMs(): number {
  try {
    const v = Number(localStorage.getItem('wangge.retryBaseMs'))
    if (v >= 100 && v <= 60_000) return v
  } catch {
    /* ignore */
  }
  return 2000
}

export async function reloadOutbox(): Promise<void> {
  if (outbox) state.outbox = await outbox.list()
}

let outboxTimer: ReturnType<typeof setTimeout> | null = null
export function onOutboxChange(): void {
  if (outboxTimer) return
  outboxTimer = setTimeout(() => {
    outboxTimer = null
    void reloadOutbox()
  }, 50)
}

export async function syncNow(force = false): Promise<void> {
  if (!outbox || !state.session || state.sessionExpired) return
  state.syncing = true
  try {
    const r = await outbox.sync({ force })
    void scheduleNext()
    if (r.offline) state.unreachable = true
    else if (!r.skipped && (r.sent || r.attention || r.conflicts || r.retrying)) state.unreachable = false
    if (r.sent) {
      await reloadOutbox()
      baseItemsSent(state.outbox)
    }
  } finally {
    state.syncing = false
  }
}

export interface ReportInput {
  uuid: string
  category: Category
  description: string
  lon: number | null
  lat: number | null
  accuracy: number | null
  address: string
  urgent: boolean
  selfHandle: boolean
  photos: NewPhoto[]
}

export async function queueReport(r: ReportInput): Promise<OutboxItem> {
  const body: Omit<NewCase, 'uuid' | 'photos'> = {
    category_id: r.category.id,
    description: r.description.trim(),
    lon: r.lon,
    lat: r.lat,
    accuracy_m: r.accuracy == null ? null : Math.round(r.accuracy),
    address: r.address.trim(),
    device_time: new Date().toISOString(),
    urgency: r.urgent ? 'urgent' : 'normal',
    self_handle: r.selfHandle,
  }
  const item = await getOutbox().add({
    id: r.uuid,
    kind: 'report',
    label: `${r.selfHandle ? '自行处置' : '上报'} · ${r.category.name}`,
    payload: body as unknown as Record<string, unknown>,
    photos: r.photos,
  })
  if (db) {
    const recent = ((await kvGet(db, 'recentCategories')) ?? []).filter((id) => id !== r.category.id)
    await kvSet(db, 'recentCategories', [r.category.id, ...recent].slice(0, 6))
  }
  void syncNow(true)
  return item
}

export interface ActionInput {
  action: ActionName
  note?: string
  reason?: string
  passed?: boolean
  rating?: string
  hours?: number
  days?: number
  photos?: NewPhoto[]
}

/** The latest unsent action queued on this case, which a new action must follow. */
function lastQueued(caseId: number): OutboxItem | undefined {
  const open = state.outbox.filter((i) => i.caseId === caseId && i.kind === 'action' && i.state !== 'sent')
  return open.sort((a, b) => b.seq - a.seq)[0]
}

export async function queueAction(c: CaseSummary, a: ActionInput): Promise<OutboxItem> {
  const body: Omit<NewAction, 'uuid'> = {
    action: a.action,
    // the version the worker saw; an action queued behind another of theirs gets the version
    // the server answers to that one when it is sent (Outbox: `after`)
    version: c.version,
    device_time: new Date().toISOString(),
  }
  if (a.note) body.note = a.note.trim()
  if (a.reason) body.reason = a.reason.trim()
  if (a.passed !== undefined) body.passed = a.passed
  if (a.rating) body.rating = a.rating as NewAction['rating']
  if (a.hours) body.hours = a.hours
  if (a.days) body.days = a.days
  const shown = a.action === Action.VERIFY ? (a.passed === false ? '核查不通过' : '核查通过') : label('actions', a.action)
  const item = await getOutbox().add({
    id: uuid4(),
    kind: 'action',
    action: a.action,
    caseId: c.id,
    caseNumber: c.number,
    after: lastQueued(c.id)?.id,
    label: `${shown} · ${c.number}`,
    payload: body as unknown as Record<string, unknown>,
    photos: a.photos ?? [],
  })
  void syncNow(true)
  return item
}

/** Pending (not yet confirmed) outbox items on a case. */
export function pendingFor(caseId: number): OutboxItem[] {
  return state.outbox.filter((i) => i.caseId === caseId && i.state !== 'sent')
}

export function isUnsent(i: OutboxItem): boolean {
  return i.state !== 'sent'
}

// --- triggers -------------------------------------------------------------------------------

let timer: ReturnType<typeof setTimeout> | null = null
let lastRefresh = 0

async function scheduleNext(): Promise<void> {
  if (timer) clearTimeout(timer)
  timer = null
  if (!outbox) return
  const due = await outbox.nextDue()
  const wait = due == null ? 60_000 : Math.min(60_000, Math.max(1000, due - Date.now()))
  timer = setTimeout(() => {
    timer = null
    void syncNow(false)
  }, wait)
}

/** Sync on start, on coming online, on becoming visible, and on a timer (not Background Sync). */
export function startTriggers(): void {
  const kick = (force: boolean, refresh: boolean) => {
    void syncNow(force)
    if (refresh && Date.now() - lastRefresh > 30_000) {
      lastRefresh = Date.now()
      void refreshAll()
      if (state.session?.user.role === Role.GRID_WORKER) void refreshBase()
    }
  }
  window.addEventListener('online', () => {
    state.online = true
    state.unreachable = false
    kick(true, true)
  })
  window.addEventListener('offline', () => {
    state.online = false
  })
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState !== 'visible') return
    void reloadOutbox() // another tab may have sent (a browser without BroadcastChannel)
    kick(false, Date.now() - state.casesFetchedAt > 5 * 60_000)
  })
  setInterval(() => {
    if (document.visibilityState === 'visible' && Date.now() - state.casesFetchedAt > 10 * 60_000) void refreshAll()
  }, 60_000)
  lastRefresh = Date.now()
  kick(true, false)
}

export async function requestPersistence(): Promise<void> {
  try {
    if (navigator.storage?.persisted) state.persisted = await navigator.storage.persisted()
    if (!state.persisted && navigator.storage?.persist) state.persisted = await navigator.storage.persist()
  } catch {
    state.persisted = null
  }
}

export async function storageEstimate(): Promise<{ usage: number; quota: number } | null> {
  try {
    const e = await navigator.storage?.estimate?.()
    return e ? { usage: e.usage ?? 0, quota: e.quota ?? 0 } : null
  } catch {
    return null
  }
}
