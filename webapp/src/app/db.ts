/**
 * The field app's IndexedDB ("wangge-field"). Everything the worker needs offline lives here,
 * not in the service worker's caches, so a service-worker update (which replaces caches) never
 * touches the outbox.
 *
 * Schema changes are migrations: bump DB_VERSION and append a step to MIGRATIONS; each step
 * runs once, in order, inside the upgrade transaction, and must keep existing outbox items.
 */
import { openDB, type DBSchema, type IDBPDatabase, type IDBPTransaction, type StoreNames } from 'idb'
import type { Bootstrap, CaseDetail, CaseSummary, GridCollection, User } from '@/shared/types'
import type { StoredBundle } from './base'
import type { PatrolState } from './patrol'
import type { CheckInCache } from './checkin'

export type ItemKind = 'report' | 'action' | 'base' | 'patrol' | 'checkin'

export type ItemState = 'waiting' | 'sending' | 'sent' | 'attention' | 'conflict'

export interface PhotoRef {
  /** Upload UUID (client-made); the case/action refers to it. */
  uuid: string
  bytes: number
  type: string
  name: string
  width?: number
  height?: number
  /** Bytes the server confirmed so far. */
  received: number
  /** The server has the whole photo (status ready). */
  ready: boolean
  thumbUrl?: string
  /**
   * Where and when the photo was taken, drawn on it as a watermark (./watermark.ts) and sent with
   * the upload's begin (POST /uploads: captured_at, lon, lat, accuracy_m, watermarked).
   */
  meta?: PhotoMeta
}

export type PhotoMeta = {
  captured_at: string
  lon: number | null
  lat: number | null
  accuracy_m: number | null
  watermarked: boolean
  /** Uploaded from the phone (the console states `desk`); older items in the outbox lack it. */
  source?: 'field'
}

export interface ItemError {
  status: number
  code: string
  message: string
  fields?: Record<string, string>
  /** The rest of a 4xx body (e.g. a 422 outside_grid: the nearest grid, the distance). */
  detail?: Record<string, unknown>
}

export interface OutboxItem {
  /** = the client UUID of the case or action: sending it again never makes a second record. */
  id: string
  /** Creation order: the outbox sends oldest first. */
  seq: number
  userId: number
  kind: ItemKind
  /**
   * For kinds 'base' (base data, /api/v1/base/…), 'patrol' (巡查: start, track chunk, end under
   * /api/v1/patrols) and 'checkin' (签到/补签, /api/v1/check-ins): the request to make with
   * `payload`. Patrol and check-in payloads are sent exactly as stored.
   */
  request?: { method: 'POST' | 'PATCH'; path: string }
  /**
   * For kind 'base': the record it changes ("resident:12"); later items on the same record wait
   * for it, like actions on one case, and an edit queued behind another takes its version.
   */
  recordKey?: string
  /** For kind 'action'. */
  action?: string
  caseId?: number
  caseNumber?: string
  /**
   * An earlier queued action on the same case: this one is sent after it, with the case version
   * the server answered to it (the worker's own earlier action is not someone else's change).
   */
  after?: string
  /** Short text for the list, e.g. "上报 · 暴露垃圾". */
  label: string
  /** JSON body without `photos` (filled in from `photos` when sending). */
  payload: Record<string, unknown>
  photos: PhotoRef[]
  state: ItemState
  attempts: number
  /** Not before this time (ms) when retrying after a failure. */
  nextAt: number
  createdAt: number
  updatedAt: number
  sentAt?: number
  lastTryAt?: number
  error?: ItemError
  /** 409 stale_version/invalid_transition: the case as the server has it now. */
  conflict?: { code: string; message: string; case: CaseSummary | null; current?: Record<string, unknown> | null }
  result?: { caseId: number; number?: string; state?: string; version?: number; replay?: boolean }
  /** For kind 'base': what the server answered (the record's id and version, a raised case). */
  baseResult?: { id?: number; version?: number; caseId?: number; caseNumber?: string; replay: boolean; record: Record<string, unknown> | null }
  /** For kinds 'patrol' and 'checkin': the server's answer (e.g. a chunk's accepted/dropped points). */
  answer?: { status: number; replay: boolean; body: Record<string, unknown> | null }
}

export interface PhotoBlob {
  uuid: string
  itemId: string
  type: string
  data: ArrayBuffer
}

export interface Session {
  user: User
  csrf: string | null
  signedInAt: number
  /** The server answered 401 since: ask to sign in again, keep everything. */
  expired?: boolean
}

export interface GridsCache {
  etag: string | null
  collection: GridCollection
  fetchedAt: number
}

export interface CasesMeta {
  fetchedAt: number
  userId: number
}

export interface CachedDetail extends CaseDetail {
  id: number
  fetchedAt: number
}

export interface KV {
  session: Session
  bootstrap: Bootstrap
  grids: GridsCache
  casesMeta: CasesMeta
  recentCategories: number[]
  seqCounter: number
  /** The base-data bundle of the worker's grids (GET /base/offline), see ./base.ts. */
  baseBundle: StoredBundle
  /** The open patrol (巡查) and its kept points not yet cut into a chunk, see ./patrol.ts. */
  patrol: PatrolState
  /** My recent check-ins as the server answered them (GET /check-ins), see ./checkin.ts. */
  checkIns: CheckInCache
}

export interface FieldDB extends DBSchema {
  kv: { key: string; value: unknown }
  outbox: { key: string; value: OutboxItem; indexes: { seq: number } }
  photos: { key: string; value: PhotoBlob; indexes: { itemId: string } }
  cases: { key: number; value: CaseSummary }
  details: { key: number; value: CachedDetail }
}

export const DB_NAME = 'wangge-field'
export const DB_VERSION = 1

type UpgradeTx = IDBPTransaction<FieldDB, StoreNames<FieldDB>[], 'versionchange'>
type Migration = (db: IDBPDatabase<FieldDB>, tx: UpgradeTx) => void

/** MIGRATIONS[n] upgrades version n to n + 1. */
export const MIGRATIONS: Migration[] = [
  // 0 → 1: the first schema
  (db) => {
    db.createObjectStore('kv')
    const outbox = db.createObjectStore('outbox', { keyPath: 'id' })
    outbox.createIndex('seq', 'seq')
    const photos = db.createObjectStore('photos', { keyPath: 'uuid' })
    photos.createIndex('itemId', 'itemId')
    db.createObjectStore('cases', { keyPath: 'id' })
    db.createObjectStore('details', { keyPath: 'id' })
  },
]

export type AppDB = IDBPDatabase<FieldDB>

export interface OpenOptions {
  name?: string
  /** Another tab runs a newer version and wants to upgrade: close, and tell the user. */
  onBlocking?: () => void
}

export async function openFieldDB(opts: OpenOptions = {}): Promise<AppDB> {
  const db = await openDB<FieldDB>(opts.name ?? DB_NAME, DB_VERSION, {
    upgrade(db, oldVersion, newVersion, tx) {
      for (let v = oldVersion; v < (newVersion ?? DB_VERSION); v++) MIGRATIONS[v]?.(db, tx)
    },
    blocking() {
      db.close()
      opts.onBlocking?.()
    },
  })
  return db
}

export async function kvGet<K extends keyof KV>(db: AppDB, key: K): Promise<KV[K] | undefined> {
  return (await db.get('kv', key)) as KV[K] | undefined
}

export async function kvSet<K extends keyof KV>(db: AppDB, key: K, value: KV[K]): Promise<void> {
  await db.put('kv', value, key)
}

export async function kvDelete(db: AppDB, key: keyof KV): Promise<void> {
  await db.delete('kv', key)
}

/** Storage is full (QuotaExceededError), in words a worker understands. */
export class StorageFullError extends Error {
  constructor() {
    super('手机存储空间已满，无法保存。请删除一些照片或清理其他应用后再试；已保存的内容不受影响。')
    this.name = 'StorageFullError'
  }
}

export function isQuotaError(err: unknown): boolean {
  if (!err || typeof err !== 'object') return false
  const e = err as { name?: string; code?: number; inner?: unknown }
  return e.name === 'QuotaExceededError' || e.name === 'NS_ERROR_DOM_QUOTA_REACHED' || e.code === 22
}
