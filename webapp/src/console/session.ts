/**
 * The console's session and reference data, shared by every console page (including the admin
 * screens and the dashboard): `api` (the shared typed client), `session` (user, bootstrap),
 * `withAuth()` (run a request; on 401 ask for the password in a dialog, then run it again —
 * nothing typed is lost), and lookups for categories and departments.
 */
import { Role } from '@/shared/vocabulary'
import { reactive } from 'vue'
import { ApiClient, ApiError } from '@/shared/api'
import type { Bootstrap, Category, Department, RuleRow, User } from '@/shared/types'
import { setWorkflow } from './i18n'

export interface ConsoleSession {
  /** First /bootstrap answered (or failed). */
  ready: boolean
  user: User | null
  bootstrap: Bootstrap | null
  /** The full-screen sign-in (nobody signed in yet). */
  needLogin: boolean
  /** The dialog sign-in (the session expired mid-work). */
  expired: boolean
  bootError: string
}

export const session: ConsoleSession = reactive({
  ready: false,
  user: null,
  bootstrap: null,
  needLogin: false,
  expired: false,
  bootError: '',
})

export const api = new ApiClient({
  onUnauthorized: () => {
    if (session.user) session.expired = true
    else toSignIn()
  },
})

/**
 * Nobody signed in: the one sign-in page of both apps (`/login`, server/templates/login.html),
 * back here afterwards. The dialog sign-in stays for a session that expired mid-work.
 */
export function toSignIn(): void {
  session.needLogin = true
  const here = window.location.pathname + window.location.search + window.location.hash
  window.location.replace('/login?next=' + encodeURIComponent(here.startsWith('/console') ? here : '/console/'))
}

let waiters: Array<() => void> = []

/** Resolves once the user has signed in again (the re-login dialog). */
export function waitForLogin(): Promise<void> {
  if (session.user && !session.expired) return Promise.resolve()
  return new Promise((resolve) => waiters.push(resolve))
}

/**
 * Run `fn`; if the server says 401 (session expired), show the sign-in dialog, wait, and run it
 * once more. A form keeps its draft meanwhile, so nothing typed is lost.
 */
export async function withAuth<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn()
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) {
      session.expired = true
      await waitForLogin()
      return fn()
    }
    throw err
  }
}

export async function loadBootstrap(): Promise<void> {
  try {
    const b = await api.bootstrap()
    session.bootstrap = b
    session.user = b.user
    session.needLogin = false
    session.bootError = ''
    setWorkflow(b.workflow)
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) {
      if (session.user) session.expired = true
      else toSignIn()
    } else session.bootError = err instanceof Error ? err.message : String(err)
  } finally {
    session.ready = true
  }
}

export async function signIn(username: string, password: string): Promise<void> {
  const ans = await api.login(username, password, true)
  const sameUser = !session.user || session.user.id === ans.user.id
  session.user = ans.user
  session.expired = false
  session.needLogin = false
  if (!session.bootstrap || !sameUser) await loadBootstrap()
  if (!sameUser) {
    // Another person signed in on this screen: start over with their view.
    window.location.reload()
    return
  }
  const w = waiters
  waiters = []
  w.forEach((r) => r())
}

export async function signOut(): Promise<void> {
  try {
    await api.logout()
  } finally {
    session.user = null
    session.bootstrap = null
    session.needLogin = true
    window.location.href = '/login'
  }
}

// --- lookups ----------------------------------------------------------------------------

export function categories(): Category[] {
  return session.bootstrap?.categories ?? []
}

export function category(id: number | null | undefined): Category | undefined {
  return id == null ? undefined : categories().find((c) => c.id === id)
}

export function departments(): Department[] {
  return session.bootstrap?.departments ?? []
}

export function department(id: number | null | undefined): Department | undefined {
  return id == null ? undefined : departments().find((d) => d.id === id)
}

export function role(): string {
  return session.user?.role ?? ''
}

export function isDispatcher(): boolean {
  return role() === Role.DISPATCHER
}

/** Rule row of the workflow table for an action (requires / optional tokens). */
export type Rule = RuleRow

export function rule(action: string): Rule | undefined {
  return (session.bootstrap?.workflow.rules ?? []).find((r) => r.action === action)
}
