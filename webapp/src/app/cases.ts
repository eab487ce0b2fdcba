/**
 * My cases and the reference data: the copies on the phone, refreshing them from the server,
 * a case's detail (from the server when it answers, else the phone's copy), and categories.
 */
import { ApiError } from '@/shared/api'
import type { CaseDetail, CaseSummary, Category } from '@/shared/types'
import { setVocabulary } from '@/shared/i18n'
import { OPEN_STATES, State } from '@/shared/vocabulary'
import { kvGet, kvSet, type CachedDetail } from './db'
import { api, markExpired, saveSession } from './session'
import { db, noteNetwork, plain, state } from './store'

export function sortCases(list: CaseSummary[]): CaseSummary[] {
  return [...list].sort((a, b) => (b.updated_at ?? '').localeCompare(a.updated_at ?? ''))
}

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

export async function upsertCase(c: CaseSummary): Promise<void> {
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

export function categoryById(id: number | null | undefined): Category | undefined {
  return state.bootstrap?.categories.find((c) => c.id === id)
}

export async function recentCategories(): Promise<number[]> {
  return db ? ((await kvGet(db, 'recentCategories')) ?? []) : []
}
