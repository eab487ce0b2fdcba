/**
 * The outbox (DESIGN §5): reports and actions made on the phone wait here, in IndexedDB, until
 * the server has confirmed them.
 *
 * - Each item is one case report or one action, with its photos. Sending an item uploads its
 *   photos first (resumable, pieces ≤ 1 MiB: POST /uploads, PUT /uploads/{uuid}?offset=N), then
 *   posts the case/action that refers to them by UUID.
 * - Oldest first. Every item carries its client UUID, so sending it again (after a lost answer,
 *   a killed server, a second tab) returns the first result and never makes a second record.
 * - Network error or 5xx/429: the item waits and is retried with exponential backoff and
 *   jitter; a network error ends the pass (the next ones would fail the same way).
 * - Another 4xx: the item "needs attention" (需处理) with the server's message; the worker fixes
 *   or discards it. It never blocks the other items, except later actions on the same case,
 *   which wait so that the order of actions on one case is kept.
 * - 409 stale_version / invalid_transition: a conflict, with the case as the server has it now;
 *   the worker discards the item or re-does it against the new state.
 * - 401: the session expired (e.g. while offline): nothing is dropped, the pass stops and the
 *   app asks the worker to sign in again.
 * - An item leaves the outbox only after the server confirmed it: it turns "sent" (已发送) and
 *   stays visible for a while (purgeSent) before it is removed.
 * - Patrols (巡查, ./patrol.ts) and check-ins (签到, ./checkin.ts) are items too: kind 'patrol'
 *   (the start, each track chunk, the end, all on `recordKey` patrol:<uuid> so the server sees
 *   start → chunks → end) and kind 'checkin'. Their payload is posted as stored; a 409 (the
 *   same UUID with other content) or a 422 (outside one's grid) needs the worker, like any 4xx.
 */
import { ApiError, NetworkError, type Answer, type RequestOptions } from '@/shared/api'
import type { ActionAnswer, CaseSummary, NewAction, NewCase, UploadState } from '@/shared/types'
import {
  isQuotaError,
  StorageFullError,
  type AppDB,
  type KV,
  type PhotoMeta,
  type ItemError,
  type OutboxItem,
  type PhotoBlob,
  type PhotoRef,
} from './db'

export const PIECE_BYTES = 1024 * 1024

export interface OutboxApi {
  createUpload(uuid: string, totalBytes: number, filename?: string, meta?: PhotoMeta): Promise<UploadState>
  putPiece(uuid: string, offset: number, piece: ArrayBuffer): Promise<UploadState>
  createCase(body: NewCase): Promise<Answer<{ case: CaseSummary }>>
  act(caseId: number, body: NewAction): Promise<Answer<ActionAnswer>>
  /** Any other request (base-data items: POST/PATCH under /base/…). */
  request<T>(method: string, path: string, opts?: RequestOptions): Promise<Answer<T>>
}

export interface OutboxDeps {
  db: AppDB
  api: OutboxApi
  /** The signed-in user: only their items are sent. */
  userId: () => number | null
  now?: () => number
  random?: () => number
  pieceBytes?: () => number
  baseDelayMs?: number
  maxDelayMs?: number
  /** Something in the outbox changed (state, progress). */
  onChange?: () => void
  /** The server answered 401: ask to sign in again. */
  onUnauthorized?: () => void
  /** The server's current copy of a case (after a send or with a conflict). */
  onCase?: (c: CaseSummary) => void
  /** Cross-tab mutual exclusion; runs fn, or answers null when another tab holds the lock. */
  lock?: <T>(fn: () => Promise<T>) => Promise<T | null>
  /**
   * The other open tabs of the app (same IndexedDB): told of every change here, and their
   * changes arrive as `onChange` — the tab that did not win the lock shows what the other sent.
   */
  channel?: OutboxChannel
}

/** A line between the open tabs of the app (BroadcastChannel in the browser: `tabChannel`). */
export interface OutboxChannel {
  /** Tell the other tabs that the outbox changed. */
  post(): void
  /** Call `fn` when another tab changed the outbox. */
  listen(fn: () => void): void
}

/** The browser's BroadcastChannel as an OutboxChannel; null where there is none. */
export function tabChannel(name = 'wangge-outbox'): OutboxChannel | null {
  if (typeof BroadcastChannel === 'undefined') return null
  const ch = new BroadcastChannel(name)
  return {
    post: () => ch.postMessage('changed'),
    listen: (fn) => ch.addEventListener('message', () => fn()),
  }
}

export interface NewPhoto {
  uuid: string
  data: ArrayBuffer
  type: string
  name: string
  width?: number
  height?: number
  meta?: PhotoMeta
}

/** Values written to the `kv` store in the same transaction as the items (undefined: deleted). */
export type KvWrites = { [K in keyof KV]?: KV[K] | null }

/** What a screen queues: the item's own fields (as stored in the outbox) and its new photos. */
export type NewItem = Pick<
  OutboxItem,
  'id' | 'kind' | 'action' | 'caseId' | 'caseNumber' | 'after' | 'label' | 'payload' | 'request' | 'recordKey'
> & {
  photos?: NewPhoto[]
}

export interface SyncReport {
  sent: number
  retrying: number
  attention: number
  conflicts: number
  offline: boolean
  unauthorized: boolean
  /** Another tab was sending. */
  skipped: boolean
}

/** A pass that has sent nothing yet; `skipped` when another tab held the lock. */
function blankReport(skipped: boolean): SyncReport {
  return { sent: 0, retrying: 0, attention: 0, conflicts: 0, offline: false, unauthorized: false, skipped }
}

type Outcome = 'sent' | 'retry' | 'offline' | 'unauthorized' | 'attention' | 'conflict'

/** Exponential backoff with jitter: a delay between half and all of base·2^(n−1), capped. */
export function backoffDelay(attempts: number, random: () => number = Math.random, baseMs = 2000, maxMs = 300_000): number {
  const exp = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempts - 1))
  return Math.round(exp / 2 + (random() * exp) / 2)
}

export const SENT_KEEP_MS = 3 * 24 * 3600 * 1000
export const SENT_KEEP_COUNT = 30

class MissingPhotoError extends Error {
  constructor(readonly photo: string) {
    super('照片数据丢失（可能被浏览器清理），请删除这张照片后重新发送')
  }
}

/** The key an item's order is kept on: its case, or its base-data record. */
function holdKey(item: OutboxItem): string | null {
  if (item.caseId != null) return `case:${item.caseId}`
  return item.recordKey ?? null
}

/**
 * The items that wait behind an earlier one on the same case or record which only the worker
 * can settle (needs attention, conflict): id → that item. They are not sent (the order on one
 * case or record is kept) and are not due; a patrol's chunks and end wait so behind a refused
 * start (./patrol.ts `refusedPatrols`).
 */
export function heldBehind(items: readonly OutboxItem[]): Map<string, OutboxItem> {
  const blockers = new Map<string, OutboxItem>()
  const held = new Map<string, OutboxItem>()
  for (const item of [...items].sort((a, b) => a.seq - b.seq)) {
    const key = holdKey(item)
    if (!key || item.state === 'sent') continue
    const blocker = blockers.get(key)
    if (blocker) held.set(item.id, blocker)
    else if (item.state === 'attention' || item.state === 'conflict') blockers.set(key, item)
  }
  return held
}

/** The record in a 409 version_conflict answer (`current`, as the caller may see it). */
export function currentOf(body: Record<string, unknown>): Record<string, unknown> | null {
  const c = body.current ?? body.record
  return c && typeof c === 'object' ? (c as Record<string, unknown>) : null
}

/** The one record in a base answer (`{"resident": {...}}`, `{"visit": {...}}`, …). */
export function recordOf(data: Record<string, unknown> | null): Record<string, unknown> | null {
  if (!data) return null
  for (const k of ['record', 'resident', 'visit', 'household', 'place', 'event', 'tag', 'organisation']) {
    const v = data[k]
    if (v && typeof v === 'object') return v as Record<string, unknown>
  }
  return null
}

/** Phone and identity numbers as the server masks them ("138****5678", "6401**********1234"). */
export function maskPhone(v: string): string {
  const d = v.replace(/\s+/g, '')
  return d.length >= 7 ? `${d.slice(0, 3)}****${d.slice(-4)}` : d
}

export function maskIdNumber(v: string): string {
  const d = v.trim().toUpperCase()
  return d.length === 18 ? `${d.slice(0, 4)}${'*'.repeat(10)}${d.slice(-4)}` : d
}

/** Every field this edit sets already has that value in `current` (compared masked where masked). */
export function patchApplied(payload: Record<string, unknown>, current: Record<string, unknown>): boolean {
  let any = false
  for (const [k, v] of Object.entries(payload)) {
    if (k === 'base_version' || k === 'uuid') continue
    any = true
    const have = current[k]
    if (k === 'phone' && typeof v === 'string') {
      if (maskPhone(v) !== have && v !== have) return false
    } else if (k === 'id_number' && typeof v === 'string') {
      if (maskIdNumber(v) !== have && v !== have) return false
    } else if ((v ?? null) !== (have ?? null)) return false
  }
  return any
}

/** What a refusal says beyond its message (a 422 outside_grid: the nearest grid, the distance). */
function detailOf(body: Record<string, unknown>): { detail?: Record<string, unknown> } {
  const rest = Object.fromEntries(Object.entries(body).filter(([k]) => !['error', 'message', 'fields'].includes(k)))
  return Object.keys(rest).length ? { detail: rest } : {}
}

/** Kinds whose payload is the request body exactly as stored (no uuid added, none removed). */
export function sentAsStored(kind: OutboxItem['kind']): boolean {
  return kind === 'patrol' || kind === 'checkin'
}

function defaultLock<T>(fn: () => Promise<T>): Promise<T | null> {
  const locks = (globalThis.navigator as Navigator | undefined)?.locks
  if (!locks?.request) return fn()
  return locks.request('wangge-outbox', { ifAvailable: true }, async (lock) => (lock ? fn() : null)) as Promise<T | null>
}

export class Outbox {
  private readonly d: Required<Omit<OutboxDeps, 'onChange' | 'onUnauthorized' | 'onCase' | 'channel'>> &
    Pick<OutboxDeps, 'onChange' | 'onUnauthorized' | 'onCase' | 'channel'>
  private running: Promise<SyncReport> | null = null
  private again = false
  private againForce = false

  constructor(deps: OutboxDeps) {
    this.d = {
      now: () => Date.now(),
      random: Math.random,
      pieceBytes: () => PIECE_BYTES,
      baseDelayMs: 2000,
      maxDelayMs: 300_000,
      lock: defaultLock,
      ...deps,
    }
    // another tab changed the shared store: this tab's view is read again (no echo back)
    deps.channel?.listen(() => this.d.onChange?.())
  }

  private changed(): void {
    this.d.onChange?.()
    this.d.channel?.post()
  }

  /** All items, oldest first. */
  async list(): Promise<OutboxItem[]> {
    return this.d.db.getAllFromIndex('outbox', 'seq')
  }

  async get(id: string): Promise<OutboxItem | undefined> {
    return this.d.db.get('outbox', id)
  }

  async photo(uuid: string): Promise<PhotoBlob | undefined> {
    return this.d.db.get('photos', uuid)
  }

  /**
   * Queue a report or action (one IndexedDB transaction: the item and its photos, or nothing).
   * Adding the same id again (a double tap) returns the first item and changes nothing.
   */
  async add(input: NewItem, kv?: KvWrites): Promise<OutboxItem> {
    const [item] = await this.addAll([input], kv)
    return item!
  }

  /**
   * Queue several items in order, and write `kv` values, in ONE transaction: all of it or
   * nothing (a patrol's last chunk, its end and the cleared patrol state; a chunk and the
   * sampler's buffer it empties). An id already queued is kept as it is.
   */
  async addAll(inputs: NewItem[], kv: KvWrites = {}): Promise<OutboxItem[]> {
    const userId = this.d.userId()
    if (userId == null) throw new Error('not signed in')
    const now = this.d.now()
    const db = this.d.db
    const results: OutboxItem[] = []
    try {
      const tx = db.transaction(['outbox', 'photos', 'kv'], 'readwrite')
      const outbox = tx.objectStore('outbox')
      const kvStore = tx.objectStore('kv')
      for (const input of inputs) {
        const existing = await outbox.get(input.id)
        if (existing) {
          results.push(existing)
          continue
        }
        const seq = (((await kvStore.get('seqCounter')) as number | undefined) ?? 0) + 1
        await kvStore.put(seq, 'seqCounter')
        const photos: PhotoRef[] = []
        for (const p of input.photos ?? []) {
          await tx.objectStore('photos').put({ uuid: p.uuid, itemId: input.id, type: p.type, data: p.data })
          photos.push({
            uuid: p.uuid,
            bytes: p.data.byteLength,
            type: p.type,
            name: p.name,
            width: p.width,
            height: p.height,
            received: 0,
            ready: false,
            // a plain copy: the form's photo list is reactive (a Proxy IndexedDB cannot clone)
            ...(p.meta ? { meta: { ...p.meta } } : {}),
          })
        }
        const item: OutboxItem = {
          id: input.id,
          seq,
          userId,
          kind: input.kind,
          action: input.action,
          caseId: input.caseId,
          caseNumber: input.caseNumber,
          after: input.after,
          request: input.request,
          recordKey: input.recordKey,
          label: input.label,
          // patrol and check-in bodies are the endpoint's exactly (an end has no uuid field)
          payload: sentAsStored(input.kind) ? { ...input.payload } : { ...input.payload, uuid: input.id },
          photos,
          state: 'waiting',
          attempts: 0,
          nextAt: 0,
          createdAt: now,
          updatedAt: now,
        }
        await outbox.put(item)
        results.push(item)
      }
      for (const [key, value] of Object.entries(kv)) {
        if (value == null) await kvStore.delete(key)
        else await kvStore.put(value, key)
      }
      await tx.done
    } catch (err) {
      if (isQuotaError(err) || isQuotaError((err as { inner?: unknown })?.inner)) throw new StorageFullError()
      throw err
    }
    this.changed()
    return results
  }

  private async save(item: OutboxItem): Promise<void> {
    item.updatedAt = this.d.now()
    await this.d.db.put('outbox', item)
    this.changed()
  }

  /** After a restart: an item caught "sending" goes back to waiting (it is re-sent; idempotent). */
  async recover(): Promise<void> {
    for (const item of await this.list()) {
      if (item.state === 'sending') {
        item.state = 'waiting'
        await this.save(item)
      }
    }
  }

  /** When the next waiting item is due (ms), or null when none waits (held ones do not). */
  async nextDue(): Promise<number | null> {
    const uid = this.d.userId()
    let best: number | null = null
    const items = await this.list()
    const held = heldBehind(items)
    for (const item of items) {
      if (item.state !== 'waiting' || item.userId !== uid || held.has(item.id)) continue
      if (best === null || item.nextAt < best) best = item.nextAt
    }
    return best
  }

  /**
   * Send what is due, oldest first. `force` ignores the backoff (the app started, the network
   * came back, the worker pressed 立即发送). Only one pass runs at a time (also across tabs).
   */
  sync(opts: { force?: boolean } = {}): Promise<SyncReport> {
    if (this.running) {
      this.again = true
      this.againForce ||= Boolean(opts.force)
      return this.running
    }
    const run = async (): Promise<SyncReport> => {
      let report = await this.pass(Boolean(opts.force))
      while (this.again && !report.offline && !report.unauthorized) {
        const force = this.againForce
        this.again = false
        this.againForce = false
        report = await this.pass(force)
      }
      this.again = false
      this.againForce = false
      return report
    }
    this.running = run().finally(() => {
      this.running = null
    })
    return this.running
  }

  private async pass(force: boolean): Promise<SyncReport> {
    const out = await this.d.lock(() => this.passLocked(force))
    return out ?? blankReport(true)
  }

  private async passLocked(force: boolean): Promise<SyncReport> {
    const report = blankReport(false)
    const uid = this.d.userId()
    if (uid == null) return report
    // cases (and base records) with an earlier unsent item: later ones on them wait (order)
    const held = new Set<string>()
    for (const snapshot of await this.list()) {
      // re-read: the worker may have discarded or fixed it meanwhile
      const item = await this.get(snapshot.id)
      if (!item || item.userId !== uid || item.state === 'sent') continue
      const key = holdKey(item)
      if (item.state === 'attention' || item.state === 'conflict') {
        if (key) held.add(key)
        continue
      }
      if (key && held.has(key)) continue
      if (!force && item.nextAt > this.d.now()) {
        if (key) held.add(key)
        continue
      }
      const outcome = await this.sendOne(item)
      if (outcome === 'sent') report.sent++
      else if (outcome === 'attention') report.attention++
      else if (outcome === 'conflict') report.conflicts++
      else if (outcome === 'retry') report.retrying++
      if (outcome !== 'sent' && key) held.add(key)
      if (outcome === 'offline') {
        report.offline = true
        report.retrying++
        break
      }
      if (outcome === 'unauthorized') {
        report.unauthorized = true
        this.d.onUnauthorized?.()
        break
      }
    }
    return report
  }

  private async sendOne(item: OutboxItem): Promise<Outcome> {
    item.state = 'sending'
    item.lastTryAt = this.d.now()
    await this.save(item)
    try {
      for (const p of item.photos) {
        if (!p.ready) await this.upload(item, p)
      }
      if (item.kind === 'base') return await this.sendBase(item)
      if (sentAsStored(item.kind)) return await this.sendStored(item)
      if (item.after && item.payload.version != null) {
        // chained after my own earlier action on this case: the version the server gave it
        const prev = await this.get(item.after)
        if (prev?.state === 'sent' && prev.result?.version != null && prev.result.version !== item.payload.version) {
          item.payload = { ...item.payload, version: prev.result.version }
          await this.save(item)
        }
      }
      const body = { ...item.payload, uuid: item.id, photos: item.photos.map((p) => p.uuid) }
      let current: CaseSummary
      let replay = false
      if (item.kind === 'report') {
        const ans = await this.d.api.createCase(body as unknown as NewCase)
        current = ans.data.case
        replay = ans.status === 200
      } else {
        if (item.caseId == null) throw new Error('action without a case')
        const ans = await this.d.api.act(item.caseId, body as unknown as NewAction)
        current = ans.data.case
        replay = ans.status === 200 && ans.headers.get('Idempotent-Replay') === 'true'
      }
      item.state = 'sent'
      item.sentAt = this.d.now()
      item.error = undefined
      item.conflict = undefined
      item.result = { caseId: current.id, number: current.number, state: current.state, version: current.version, replay }
      if (item.kind === 'report') {
        item.caseId = current.id
        item.caseNumber = current.number
      }
      await this.save(item)
      // the server has the photos now; the item itself stays visible as 已发送 for a while
      await this.dropPhotos(item.id)
      this.d.onCase?.(current)
      return 'sent'
    } catch (err) {
      return this.failed(item, err)
    }
  }

  /**
   * A base-data item: its POST (a create, idempotent by uuid) or PATCH (an edit on
   * `base_version`). An edit queued behind an earlier one of mine on the same record takes the
   * version the server gave that one. A 409 version_conflict whose current record already holds
   * what this edit sets is this edit, applied before its answer was lost: it counts as sent.
   */
  private async sendBase(item: OutboxItem): Promise<Outcome> {
    const req = item.request
    if (!req) throw new Error('base item without a request')
    if (item.after && item.payload.base_version != null) {
      const prev = await this.get(item.after)
      const v = prev?.state === 'sent' ? prev.baseResult?.version : undefined
      if (v != null && v !== item.payload.base_version) {
        item.payload = { ...item.payload, base_version: v }
        await this.save(item)
      }
    }
    const body: Record<string, unknown> = { ...item.payload }
    if (req.method === 'POST') body.uuid = item.id
    else delete body.uuid
    if (item.photos.length) body.photos = item.photos.map((p) => p.uuid)
    let data: Record<string, unknown> | null
    let replay: boolean
    try {
      const ans = await this.d.api.request<Record<string, unknown>>(req.method, req.path, { json: body })
      data = ans.data
      replay = ans.status === 200 && ans.headers.get('Idempotent-Replay') === 'true'
    } catch (err) {
      const current = err instanceof ApiError && err.code === 'version_conflict' ? currentOf(err.body) : null
      if (!(current && req.method === 'PATCH' && patchApplied(item.payload, current))) throw err
      data = { record: current }
      replay = true
    }
    const record = recordOf(data)
    const raised = (record?.case ?? data?.case) as { id?: number; number?: string } | null | undefined
    item.state = 'sent'
    item.sentAt = this.d.now()
    item.error = undefined
    item.conflict = undefined
    // the server has them: no clear identity number or phone stays on the phone
    if (typeof item.payload.id_number === 'string') item.payload = { ...item.payload, id_number: maskIdNumber(item.payload.id_number) }
    if (typeof item.payload.phone === 'string') item.payload = { ...item.payload, phone: maskPhone(item.payload.phone) }
    item.baseResult = {
      id: typeof record?.id === 'number' ? record.id : undefined,
      version: typeof record?.version === 'number' ? record.version : undefined,
      caseId: typeof record?.case_id === 'number' ? record.case_id : raised?.id,
      caseNumber: raised?.number ?? (typeof record?.case_number === 'string' ? record.case_number : undefined),
      replay,
      record,
    }
    await this.save(item)
    await this.dropPhotos(item.id)
    return 'sent'
  }

  /**
   * A patrol or check-in item: its request with the payload as stored (each carries its own
   * client UUID where the endpoint has one, so a lost answer is replayed, never doubled).
   */
  private async sendStored(item: OutboxItem): Promise<Outcome> {
    const req = item.request
    if (!req) throw new Error(`${item.kind} item without a request`)
    const ans = await this.d.api.request<Record<string, unknown>>(req.method, req.path, { json: item.payload })
    item.state = 'sent'
    item.sentAt = this.d.now()
    item.error = undefined
    item.conflict = undefined
    item.answer = { status: ans.status, replay: ans.status === 200 && ans.headers.get('Idempotent-Replay') === 'true', body: ans.data ?? null }
    await this.save(item)
    return 'sent'
  }

  private async upload(item: OutboxItem, p: PhotoRef): Promise<void> {
    const blob = await this.d.db.get('photos', p.uuid)
    if (!blob) throw new MissingPhotoError(p.uuid)
    const total = blob.data.byteLength
    // POST is idempotent: for a known uuid it answers the current state (resume point)
    let st = await this.d.api.createUpload(p.uuid, total, p.name, p.meta)
    let offset = st.received_bytes ?? 0
    let guard = Math.ceil(total / Math.max(1, this.d.pieceBytes())) * 3 + 10
    while (st.status !== 'ready') {
      if (guard-- <= 0) throw new ApiError(503, { error: 'upload_stalled', message: '照片上传未完成，稍后重试' })
      if (offset >= total) {
        // every byte is in but the answer was lost: ask again
        st = await this.d.api.createUpload(p.uuid, total, p.name, p.meta)
        offset = st.received_bytes ?? 0
        continue
      }
      const piece = blob.data.slice(offset, offset + this.d.pieceBytes())
      try {
        st = await this.d.api.putPiece(p.uuid, offset, piece)
      } catch (err) {
        if (err instanceof ApiError && err.status === 409 && err.code === 'bad_offset') {
          offset = Number(err.body.received_bytes ?? 0)
          continue
        }
        throw err
      }
      offset = st.received_bytes ?? offset + piece.byteLength
      p.received = Math.min(offset, total)
      await this.save(item)
    }
    p.ready = true
    p.received = total
    if (st.thumb_url) p.thumbUrl = st.thumb_url
    await this.save(item)
  }

  private async failed(item: OutboxItem, err: unknown): Promise<Outcome> {
    const now = this.d.now()
    const retry = (error: ItemError, minDelayMs = 0): void => {
      item.state = 'waiting'
      item.attempts += 1
      const delay = backoffDelay(item.attempts, this.d.random, this.d.baseDelayMs, this.d.maxDelayMs)
      item.nextAt = now + Math.max(delay, minDelayMs)
      item.error = error
    }
    let outcome: Outcome
    if (err instanceof NetworkError) {
      retry({ status: 0, code: 'network', message: '网络不可用，恢复后自动发送' })
      outcome = 'offline'
    } else if (err instanceof ApiError) {
      const e: ItemError = { status: err.status, code: err.code, message: err.zh, fields: err.fields }
      if (err.status === 401) {
        item.state = 'waiting'
        item.error = { ...e, message: '登录已过期，请重新登录；内容已保留' }
        outcome = 'unauthorized'
      } else if (err.status >= 500 || err.status === 429 || err.status === 408 || err.code === 'csrf_failed') {
        retry(
          { ...e, message: err.status >= 500 ? `服务器暂时出错（${err.status}），稍后自动重试` : e.message },
          (err.retryAfter ?? 0) * 1000,
        )
        outcome = 'retry'
      } else if (err.status === 409 && err.code === 'version_conflict' && item.kind === 'base') {
        // someone else changed the record meanwhile: the worker keeps theirs or takes the other
        item.state = 'conflict'
        item.conflict = { code: err.code, message: err.zh, case: null, current: currentOf(err.body) }
        item.error = e
        outcome = 'conflict'
      } else if (err.status === 409 && (err.code === 'stale_version' || err.code === 'invalid_transition')) {
        const current = (err.body.case as CaseSummary | undefined) ?? null
        item.state = 'conflict'
        item.conflict = { code: err.code, message: err.zh, case: current }
        item.error = e
        if (current) this.d.onCase?.(current)
        outcome = 'conflict'
      } else {
        item.state = 'attention'
        item.error = { ...e, ...detailOf(err.body) }
        outcome = 'attention'
      }
    } else if (err instanceof MissingPhotoError) {
      item.state = 'attention'
      item.error = { status: 0, code: 'missing_photo', message: err.message, fields: { photos: err.photo } }
      outcome = 'attention'
    } else if (isQuotaError(err)) {
      item.state = 'attention'
      item.error = { status: 0, code: 'storage_full', message: new StorageFullError().message }
      outcome = 'attention'
    } else {
      // a bug or something unforeseen: keep the item, say what happened, retry later
      retry({ status: 0, code: 'client_error', message: `发送出错：${String((err as Error)?.message ?? err)}` })
      outcome = 'retry'
    }
    await this.save(item)
    return outcome
  }

  private async dropPhotos(itemId: string): Promise<void> {
    const tx = this.d.db.transaction('photos', 'readwrite')
    const keys = await tx.store.index('itemId').getAllKeys(itemId)
    for (const k of keys) await tx.store.delete(k)
    await tx.done
  }

  /** Send this item again now (after "needs attention" was fixed, or to skip the wait). */
  async retry(id: string): Promise<void> {
    const item = await this.get(id)
    if (!item || item.state === 'sent' || item.state === 'sending') return
    item.state = 'waiting'
    item.nextAt = 0
    item.error = undefined
    await this.save(item)
  }

  /** The worker gives up on an item (needs attention, conflict, or not yet sent). */
  async discard(id: string): Promise<void> {
    const item = await this.get(id)
    if (!item || item.state === 'sending') return
    await this.d.db.delete('outbox', id)
    await this.dropPhotos(id)
    this.changed()
  }

  /**
   * The worker gives up on a whole record: every item on it not yet sent (a refused patrol: its
   * start, chunks and end — a chunk without its start can never be taken). Only on the worker's
   * word, never by itself. Answers how many items were removed.
   */
  async discardRecord(recordKey: string): Promise<number> {
    let removed = 0
    for (const item of await this.list()) {
      if (item.recordKey !== recordKey || item.state === 'sent' || item.state === 'sending') continue
      await this.d.db.delete('outbox', item.id)
      await this.dropPhotos(item.id)
      removed++
    }
    if (removed) this.changed()
    return removed
  }

  /**
   * Fix an item: new payload fields, photos removed or added; it waits to be sent again.
   * `newId` gives it a new UUID (needed when the content changes after the server has seen the
   * old UUID, e.g. an idempotency conflict, or re-doing a conflict against the new version).
   */
  async fix(
    id: string,
    change: { payload?: Record<string, unknown>; label?: string; removePhotos?: string[]; addPhotos?: NewPhoto[]; newId?: string },
  ): Promise<OutboxItem | undefined> {
    const db = this.d.db
    const item = await this.get(id)
    if (!item || item.state === 'sending' || item.state === 'sent') return undefined
    const newId = change.newId ?? id
    try {
      const tx = db.transaction(['outbox', 'photos'], 'readwrite')
      const photos = tx.objectStore('photos')
      for (const uuid of change.removePhotos ?? []) await photos.delete(uuid)
      item.photos = item.photos.filter((p) => !(change.removePhotos ?? []).includes(p.uuid))
      for (const p of change.addPhotos ?? []) {
        await photos.put({ uuid: p.uuid, itemId: newId, type: p.type, data: p.data })
        item.photos.push({ uuid: p.uuid, bytes: p.data.byteLength, type: p.type, name: p.name, received: 0, ready: false })
      }
      if (newId !== id) {
        for (const p of item.photos) {
          const b = await photos.get(p.uuid)
          if (b) await photos.put({ ...b, itemId: newId })
        }
        await tx.objectStore('outbox').delete(id)
        item.id = newId
        // actions queued behind this one now follow the new id
        for (const other of await tx.objectStore('outbox').getAll()) {
          if (other.after === id) await tx.objectStore('outbox').put({ ...other, after: newId })
        }
      }
      item.payload = { ...item.payload, ...(change.payload ?? {}), uuid: newId }
      if (change.label) item.label = change.label
      item.state = 'waiting'
      item.attempts = 0
      item.nextAt = 0
      item.error = undefined
      item.conflict = undefined
      item.updatedAt = this.d.now()
      await tx.objectStore('outbox').put(item)
      await tx.done
    } catch (err) {
      if (isQuotaError(err)) throw new StorageFullError()
      throw err
    }
    this.changed()
    return item
  }

  /** Remove "sent" items older than `maxAgeMs`, keeping at most `keep` of them. */
  async purgeSent(maxAgeMs = SENT_KEEP_MS, keep = SENT_KEEP_COUNT): Promise<number> {
    const now = this.d.now()
    const sent = (await this.list()).filter((i) => i.state === 'sent').sort((a, b) => (b.sentAt ?? 0) - (a.sentAt ?? 0))
    let removed = 0
    for (const [k, item] of sent.entries()) {
      if (k >= keep || now - (item.sentAt ?? 0) > maxAgeMs) {
        await this.d.db.delete('outbox', item.id)
        await this.dropPhotos(item.id)
        removed++
      }
    }
    if (removed) this.changed()
    return removed
  }
}
