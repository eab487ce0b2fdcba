/**
 * The field app's one reactive store and the two handles opened at start-up (the database and
 * the outbox), all read from IndexedDB first (so the app opens with no network) and refreshed
 * from the server when it answers. What changes them lives next door: `session`, `cases`,
 * `sync`, `prefs`; `startup` fills them.
 */
import { reactive } from 'vue'
import { NetworkError } from '@/shared/api'
import type { Bootstrap, CaseSummary, GridCollection } from '@/shared/types'
import type { AppDB, OutboxItem, Session } from './db'
import type { Outbox } from './outbox'
import { readLargeFont } from './prefs'

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

// Live bindings: importers see the handles `startup.init()` sets (null before, and `db` stays
// null when the browser's storage could not be opened).
export let db: AppDB | null = null
export let outbox: Outbox | null = null

export function setHandles(d: AppDB, o: Outbox): void {
  db = d
  outbox = o
}

export function getDB(): AppDB {
  if (!db) throw new Error('database not open')
  return db
}

export function getOutbox(): Outbox {
  if (!outbox) throw new Error('outbox not ready')
  return outbox
}

/** A plain copy of reactive data, for IndexedDB. */
export function plain<T>(v: T): T {
  return JSON.parse(JSON.stringify(v)) as T
}

export function noteNetwork(err: unknown): void {
  if (err instanceof NetworkError) state.unreachable = true
}
