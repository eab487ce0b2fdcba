/**
 * The field app's state and services: the session, the cached reference data, my cases and the
 * outbox, all read from IndexedDB first (so the app opens with no network) and refreshed from
 * the server when it answers.
 */
import { reactive } from 'vue'
import { ApiClient, ApiError, NetworkError } from '@/shared/api'
import type {
  ActionName,
  Bootstrap,
  CaseDetail,
  CaseSummary,
  Category,
  GridCollection,
  NewAction,
  NewCase,
  User,
} from '@/shared/types'
import { label, setVocabulary } from '@/shared/i18n'
import { Action, OPEN_STATES, State } from '@/shared/vocabulary'
import {
  kvDelete,
  kvGet,
  kvSet,
  openFieldDB,
  type AppDB,
  type CachedDetail,
  type OutboxItem,
  type Session,
} from './db'
import { Outbox, tabChannel, type NewPhoto } from './outbox'
import { uuid4 } from '@/shared/uuid'

export interface AppState {
  ready: boolean
  dbError: string
  session: Session | null
  bootstrap: Bootstrap | null
  grids: GridCollection | null
  cases: CaseSummary[]
  casesFetchedAt: number
  outbox: OutboxItem[]
  /** The browser says it has a network. */
  online: boolean
  /** The last request got no answer (server unreachable even if "online"). */
  unreachable: boolean
  syncing: boolean
  refreshing: boolean
  refreshError: string
  /** The server answered 401: sign in again (nothing is lost). */
  sessionExpired: boolean
  /** A new version of the app is installed and waits for the worker's consent. */
  updateReady: boolean
  /** Another tab opened a newer version of the database. */
  dbBlocked: boolean
  largeFont: boolean
  persisted: boolean | null
}

const LARGE_FONT_KEY = 'wangge.largeFont'

function readLargeFont(): boolean {
  try {
    return localStorage.getItem(LARGE_FONT_KEY) === '1'
  } catch {
    return false
  }
}

export const state: AppState = reactive({
  ready: false,
  dbError: '',
  session: null,
  bootstrap: null,
  grids: null,
  cases: [],
  casesFetchedAt: 0,
  outbox: [],
  online: typeof navigator === 'undefined' ? true : navigator.onLine,
  unreachable: false,
  syncing: false,
  refreshing: false,
  refreshError: '',
  sessionExpired: false,
  updateReady: false,
  dbBlocked: false,
  largeFont: readLargeFont(),
  persisted: null,
}) as AppState

let db: AppDB | null = null
let outbox: Outbox | null = null

let markSessionKnown: () => void = () => {}
/** Resolves once the app knows who is signed in: the phone's copy, or the server's answer. */
export const sessionKnown = new Promise<void>((resolve) => {
  markSessionKnown = resolve
})

export const api = new ApiClient({
  getCsrf: () => state.session?.csrf ?? null,
  setCsrf: (token) => {
    if (state.session && state.session.csrf !== token) {
      state.session.csrf = token
      void saveSession()
    }
  },
})

export function getDB(): AppDB {
  if (!db) throw new Error('database not open')
  return db
}

export function getOutbox(): Outbox {
  if (!outbox) throw new Error('outbox not ready')
  return outbox
}

/** A piece size override for tests and slow links (localStorage `wangge.pieceBytes`). */
function pieceBytes(): number {
  try {
    const v = Number(localStorage.getItem('wangge.pieceBytes'))
    if (v >= 16 * 1024 && v <= 1024 * 1024) return v
  } catch {
    /* ignore */
  }
  return 1024 * 1024
}

function baseDelayMs(): number {
  try {
    const v = Number(localStorage.getItem('wangge.retryBaseMs'))
    if (v >= 100 && v <= 60_000) return v
  } catch {
    /* ignore */
  }
  return 2000
}

function plain<T>(v: T): T {
  return JSON.parse(JSON.stringify(v)) as T
}

async function saveSession(): Promise<void> {
  if (db && state.session) await kvSet(db, 'session', plain(state.session))
}

export function user(): User | null {
  return state.session?.user ?? null
}

export function setLargeFont(on: boolean): void {
  state.largeFont = on
  try {
    localStorage.setItem(LARGE_FONT_KEY, on ? '1' : '0')
  } catch {
    /* private mode */
  }
  document.documentElement.classList.toggle('large-font', on)
}

// --- start-up -------------------------------------------------------------------------------

export async function reloadOutbox(): Promise<void> {
  if (outbox) state.outbox = await outbox.list()
}

let outboxTimer: ReturnType<typeof setTimeout> | null = null
function onOutboxChange(): void {
  if (outboxTimer) return
  outboxTimer = setTimeout(() => {
    outboxTimer = null
    void reloadOutbox()
  }, 50)
}

/** Open the database and show what is on the phone; nothing here needs the network. */
export async function init(): Promise<void> {
  try {
    db = await openFieldDB({
      onBlocking: () => {
        state.dbBlocked = true
      },
    })
  } catch (err) {
    state.dbError = `无法打开本机存储：${String((err as Error)?.message ?? err)}。请关闭无痕模式或检查浏览器设置。`
    state.ready = true
    markSessionKnown()
    return
  }
  outbox = new Outbox({
    db,
    api,
    userId: () => state.session?.user.id ?? null,
    pieceBytes,
    baseDelayMs: baseDelayMs(),
    onChange: onOutboxChange,
    onUnauthorized: () => markExpired(),
    onCase: (c) => void upsertCase(c),
    // every open tab shows the outbox as it is, not only the tab that sent it
    channel: tabChannel() ?? undefined,
  })
  const [session, bootstrap, grids, cases, meta] = await Promise.all([
    kvGet(db, 'session'),
    kvGet(db, 'bootstrap'),
    kvGet(db, 'grids'),
    db.getAll('cases'),
    kvGet(db, 'casesMeta'),
  ])
  state.session = session ?? null
  state.sessionExpired = Boolean(session?.expired)
  if (session && bootstrap && bootstrap.user.id === session.user.id) {
    state.bootstrap = bootstrap
    setVocabulary(bootstrap.workflow)
  }
  if (session) state.grids = grids?.collection ?? null
  state.cases = session && meta?.userId === session.user.id ? sortCases(cases) : []
  state.casesFetchedAt = meta?.fetchedAt ?? 0
  await outbox.recover()
  await outbox.purgeSent()
  await reloadOutbox()
  state.ready = true
  if (state.session) markSessionKnown()
}

function sortCases(list: CaseSummary[]): CaseSummary[] {
  return [...list].sort((a, b) => (b.updated_at ?? '').localeCompare(a.updated_at ?? ''))
}

function markExpired(): void {
  state.sessionExpired = true
  if (state.session) {
    state.session.expired = true
    void saveSession()
  }
}

function noteNetwork(err: unknown): void {
  if (err instanceof NetworkError) state.unreachable = true
}

// --- sign-in --------------------------------------------------------------------------------

/** `user` signed in on this browser (by the sign-in page or again): keep the session; another
 * account on this phone drops the previous one's cached data (not its outbox). */
async function setSession(u: User, csrf: string): Promise<void> {
  const previous = state.session?.user.id
  state.session = { user: u, csrf, signedInAt: Date.now() }
  state.sessionExpired = false
  state.unreachable = false
  await saveSession()
  if (previous !== u.id && db) {
    state.bootstrap = null
    state.grids = null
    state.cases = []
    state.casesFetchedAt = 0
    await Promise.all([kvDelete(db, 'bootstrap'), kvDelete(db, 'grids'), kvDelete(db, 'casesMeta'), db.clear('cases'), db.clear('details')])
  }
  await reloadOutbox()
}

/** The sign-in page (`/login`, one for both apps), coming back to `back` (a field-app URL). */
export function signInUrl(back = '/app/' + location.hash): string {
  return '/login?next=' + encodeURIComponent(back)
}

/**
 * Take over the browser's server session (the cookie the sign-in page set): a worker who signed
 * in at `/login` is not asked again here. Answers 'signed-in', 'signed-out' (the server knows
 * nobody: go to the sign-in page) or 'offline' (no answer: keep what the phone has).
 */
export async function adoptServerSession(): Promise<'signed-in' | 'signed-out' | 'offline'> {
  try {
    const ans = await api.me()
    await setSession(ans.user, ans.csrf_token)
    return 'signed-in'
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) {
      if (state.session) markExpired()
      return 'signed-out'
    }
    noteNetwork(err)
    return 'offline'
  } finally {
    markSessionKnown()
  }
}

export async function login(username: string, password: string): Promise<void> {
  const ans = await api.login(username, password, true)
  await setSession(ans.user, ans.csrf_token)
  await refreshAll()
  void syncNow(true)
}

export async function logout(): Promise<void> {
  try {
    await api.logout()
  } catch {
    /* offline: the cookie expires by itself */
  }
  state.session = null
  state.sessionExpired = false
  if (db) await kvDelete(db, 'session')
}

// --- refreshing from the server -------------------------------------------------------------

const OPEN = OPEN_STATES.join(',')

async function fetchAllCases(): Promise<CaseSummary[]> {
  const out = new Map<number, CaseSummary>()
  let cursor: string | null = null
  for (let page = 0; page < 10; page++) {
    const ans = await api.cases({ mine: 1, state: OPEN, limit: 200, sort: '-updated_at', cursor })
    for (const c of ans.items) out.set(c.id, c)
    cursor = ans.next_cursor
    if (!cursor) break
  }
  // recently closed or rejected ones (to rate, to look back at)
  const done = await api.cases({ mine: 1, state: 'closed,rejected', limit: 100, sort: '-updated_at' })
  for (const c of done.items) out.set(c.id, c)
  return [...out.values()]
}

/** Refresh the session, reference data, grids and my cases. Quiet when offline. */
export async function refreshAll(): Promise<boolean> {
  if (!db || !state.session || state.refreshing) return false
  state.refreshing = true
  state.refreshError = ''
  try {
    const boot = await api.bootstrap()
    state.session.user = boot.user
    state.session.expired = false
    state.sessionExpired = false
    await saveSession()
    state.bootstrap = boot
    setVocabulary(boot.workflow)
    await kvSet(db, 'bootstrap', plain(boot))
    const cached = await kvGet(db, 'grids')
    const g = await api.grids(cached?.etag ?? null)
    if (g) {
      state.grids = g.collection
      await kvSet(db, 'grids', { etag: g.etag, collection: plain(g.collection), fetchedAt: Date.now() })
    } else if (cached) state.grids = cached.collection
    const list = await fetchAllCases()
    const tx = db.transaction('cases', 'readwrite')
    await tx.store.clear()
    for (const c of list) await tx.store.put(plain(c))
    await tx.done
    state.cases = sortCases(list)
    state.casesFetchedAt = Date.now()
    await kvSet(db, 'casesMeta', { fetchedAt: state.casesFetchedAt, userId: state.session.user.id })
    state.unreachable = false
    void prefetchDetails()
    return true
  } catch (err) {
    noteNetwork(err)
    if (err instanceof ApiError) {
      if (err.status === 401) markExpired()
      else state.refreshError = err.zh
    }
    return false
  } finally {
    state.refreshing = false
  }
}

/** Details of open cases, for looking at and verifying them offline (a few, in the background). */
async function prefetchDetails(): Promise<void> {
  if (!db) return
  const wanted = state.cases.filter((c) => c.state === State.RESOLVED || c.state === State.DISPATCHED || c.state === State.IN_PROGRESS).slice(0, 40)
  for (const c of wanted) {
    const have = await db.get('details', c.id)
    if (have && have.case.version === c.version) continue
    try {
      await loadDetail(c.id, true)
    } catch {
      return
    }
  }
}

async function upsertCase(c: CaseSummary): Promise<void> {
  const i = state.cases.findIndex((x) => x.id === c.id)
  if (i >= 0) state.cases.splice(i, 1, c)
  else state.cases.unshift(c)
  if (db) {
    await db.put('cases', plain(c))
    const d = await db.get('details', c.id)
    if (d && d.case.version !== c.version) await db.put('details', { ...d, case: plain(c) })
  }
}

export function cachedCase(id: number): CaseSummary | undefined {
  return state.cases.find((c) => c.id === id)
}

export async function cachedDetail(id: number): Promise<CachedDetail | undefined> {
  return db?.get('details', id)
}

/** The case with its trail: from the server when it answers, else the copy on the phone. */
export async function loadDetail(id: number, quiet = false): Promise<{ detail: CaseDetail | null; fromCache: boolean; fetchedAt?: number }> {
  try {
    const d = await api.caseDetail(id)
    if (db) await db.put('details', plain({ ...d, id, fetchedAt: Date.now() }))
    await upsertCase(d.case)
    state.unreachable = false
    return { detail: d, fromCache: false }
  } catch (err) {
    if (!quiet) noteNetwork(err)
    if (err instanceof ApiError && err.status === 401) markExpired()
    if (err instanceof ApiError && err.status === 404) throw err
    const cached = await db?.get('details', id)
    if (cached) return { detail: cached, fromCache: true, fetchedAt: cached.fetchedAt }
    const summary = cachedCase(id)
    if (summary) return { detail: { case: summary, events: [], photos: [], allowed_actions: summary.allowed_actions ?? [], duplicates: [] }, fromCache: true }
    if (err instanceof ApiError) throw err
    return { detail: null, fromCache: true }
  }
}

// --- the outbox -----------------------------------------------------------------------------

export async function syncNow(force = false): Promise<void> {
  if (!outbox || !state.session || state.sessionExpired) return
  state.syncing = true
  try {
    const r = await outbox.sync({ force })
    void scheduleNext()
    if (r.offline) state.unreachable = true
    else if (!r.skipped && (r.sent || r.attention || r.conflicts || r.retrying)) state.unreachable = false
    if (r.sent) await reloadOutbox()
  } finally {
    state.syncing = false
  }
}

export function categoryById(id: number | null | undefined): Category | undefined {
  return state.bootstrap?.categories.find((c) => c.id === id)
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

export async function recentCategories(): Promise<number[]> {
  return db ? ((await kvGet(db, 'recentCategories')) ?? []) : []
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
