/**
 * Who is signed in on this phone: the session kept in IndexedDB, taking over the server's
 * session from the sign-in page, signing out, and the API client that carries its CSRF token.
 */
import { ApiClient, ApiError } from '@/shared/api'
import type { User } from '@/shared/types'
import { kvDelete, kvSet } from './db'
import { refreshAll } from './cases'
import { forgetBase } from './base'
import { db, noteNetwork, plain, state } from './store'
import { reloadOutbox, syncNow } from './sync'

let resolveSessionKnown: () => void = () => {}
/** Resolves once the app knows who is signed in: the phone's copy, or the server's answer. */
export const sessionKnown = new Promise<void>((resolve) => {
  resolveSessionKnown = resolve
})

export function markSessionKnown(): void {
  resolveSessionKnown()
}

export const api = new ApiClient({
  getCsrf: () => state.session?.csrf ?? null,
  setCsrf: (token) => {
    if (state.session && state.session.csrf !== token) {
      state.session.csrf = token
      void saveSession()
    }
  },
})

export async function saveSession(): Promise<void> {
  if (db && state.session) await kvSet(db, 'session', plain(state.session))
}

export function user(): User | null {
  return state.session?.user ?? null
}

export function markExpired(): void {
  state.sessionExpired = true
  if (state.session) {
    state.session.expired = true
    void saveSession()
  }
}

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
    await forgetBase()
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
  // residents' data does not stay on a phone nobody is signed in to (the outbox does)
  await forgetBase()
}
