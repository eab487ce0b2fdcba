/**
 * Patrols (巡查, issue 17): the sampler and the recorder, with their edges injected — the clock,
 * the geolocation source, the storage (the outbox's IndexedDB), the UUIDs — so that
 * `webapp/tests/patrol.test.ts` tests every rule without a browser (STYLE "injected edges").
 *
 * - A fix less accurate than 50 m is dropped, and so is one implying more than 70 m/s from the
 *   last kept point (a jump). A fix is kept when it lies ≥ 10 m from the last kept one or ≥ 60 s
 *   after it (standing still keeps one point a minute, not one a second).
 * - Kept points wait in IndexedDB (kv `patrol`, rewritten with each kept point), so a closed app
 *   or a dead battery loses nothing that was kept.
 * - A chunk is cut every 60 points or 5 minutes (from its first point) and at the end. The
 *   start, each chunk and the end are outbox items on one record (`patrol:<uuid>`): oldest first,
 *   the server sees start → chunks → end. A chunk is queued and taken out of the buffer in ONE
 *   transaction (Outbox.addAll with kv writes), so a point is never in two chunks or in none.
 * - Points are [t_ms, lon, lat, accuracy_m] as the track endpoint takes them.
 *
 * What a PWA cannot do: record with the screen off or the app closed on iOS (and Android may
 * stop a background tab). The app keeps the screen awake (Wake Lock) where it can and says so.
 */
import { kvGet, kvSet, type AppDB, type ItemError, type OutboxItem } from './db'
import { heldBehind, type NewItem, type Outbox } from './outbox'

export const MAX_ACCURACY_M = 50
export const MIN_MOVE_M = 10
export const MIN_GAP_MS = 60_000
export const CHUNK_POINTS = 60
export const CHUNK_MS = 5 * 60_000
/** Faster than this from the last kept point is a jump of the fix, not a walk (the server's rule too). */
export const MAX_SPEED_MS = 70

/** One position from the device: time (ms), WGS84 lon/lat, accuracy radius in metres. */
export interface GeoFix {
  t: number
  lon: number
  lat: number
  acc: number
}

/** A kept point as the track endpoint takes it: [t_ms, lon, lat, accuracy_m]. */
export type TrackPoint = [number, number, number, number]

export type FixVerdict = 'keep' | 'inaccurate' | 'still' | 'jump' | 'invalid'

export interface PatrolState {
  uuid: string
  userId: number
  startedAt: number
  gridCode: string | null
  /** The last kept point (the next fix is measured from it). */
  last: TrackPoint | null
  /** Kept points not yet cut into a chunk. */
  pending: TrackPoint[]
  /** The seq of the next chunk (1, 2, …) and the UUID it will carry. */
  seq: number
  nextChunkId: string
  /** Kept points and distance along them since the start. */
  points: number
  distanceM: number
  dropped: { inaccurate: number; still: number; jump: number; invalid: number }
  /** The last fix dropped as a jump while only the first point is kept (see `addFix`). */
  jumpedTo?: TrackPoint | null
}

/** Where a patrol's state lives and how its items are queued (the outbox, in the app). */
export interface PatrolStore {
  load(): Promise<PatrolState | null>
  save(s: PatrolState): Promise<void>
  /** Queue items and write the state (null: the patrol is over) in one transaction. */
  queue(items: NewItem[], s: PatrolState | null): Promise<void>
}

/** The app's store: kv `patrol` in the field app's IndexedDB, items into the one outbox. */
export function outboxStore(db: AppDB, outbox: Outbox): PatrolStore {
  return {
    load: async () => (await kvGet(db, 'patrol')) ?? null,
    save: (s) => kvSet(db, 'patrol', clone(s)),
    queue: async (items, s) => {
      await outbox.addAll(items, { patrol: s ? clone(s) : null })
    },
  }
}

function clone<T>(v: T): T {
  return JSON.parse(JSON.stringify(v)) as T
}

/** A geolocation source: calls `onFix` with each position; the returned function stops it. */
export interface GeoSource {
  watch(onFix: (fix: GeoFix) => void, onError: (message: string) => void): () => void
}

export interface PatrolDeps {
  store: PatrolStore
  now: () => number
  uuid: () => string
  userId: () => number | null
  geo?: GeoSource
  /** The state changed (a kept point, a chunk, the end): the screen reads it again. */
  onChange?: (s: PatrolState | null) => void
  onGeoError?: (message: string) => void
}

const R = 6_371_008.8

/** Great-circle distance in metres. */
export function distanceM(lon1: number, lat1: number, lon2: number, lat2: number): number {
  const rad = Math.PI / 180
  const dLat = (lat2 - lat1) * rad
  const dLon = (lon2 - lon1) * rad
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(lat1 * rad) * Math.cos(lat2 * rad) * Math.sin(dLon / 2) ** 2
  return 2 * R * Math.asin(Math.min(1, Math.sqrt(h)))
}

/** Keep this fix, given the last kept point? (The sampling rule, pure.) */
export function judgeFix(last: TrackPoint | null, fix: GeoFix): FixVerdict {
  const { t, lon, lat, acc } = fix
  if (![t, lon, lat, acc].every(Number.isFinite) || Math.abs(lat) > 90 || Math.abs(lon) > 180 || acc < 0) return 'invalid'
  if (acc > MAX_ACCURACY_M) return 'inaccurate'
  if (!last) return 'keep'
  if (t <= last[0]) return 'invalid' // a cached or repeated position: time must move on
  const d = distanceM(last[1], last[2], lon, lat)
  // a fix that jumps (a reflection, a cell-tower guess) would add kilometres to 里程 and be
  // dropped by the server anyway ('teleport'); the next good fix is measured from the last kept
  if (d / ((t - last[0]) / 1000) > MAX_SPEED_MS) return 'jump'
  if (d >= MIN_MOVE_M || t - last[0] >= MIN_GAP_MS) return 'keep'
  return 'still'
}

/** Cut a chunk now? 60 points, or the oldest waiting point 5 minutes old. */
export function chunkDue(pending: readonly TrackPoint[], now: number): boolean {
  if (!pending.length) return false
  return pending.length >= CHUNK_POINTS || now - pending[0]![0] >= CHUNK_MS
}

export function toPoint(fix: GeoFix): TrackPoint {
  // 7 decimals ≈ 1 cm; accuracy to 0.1 m: smaller bodies, same content on a resend
  return [Math.round(fix.t), round(fix.lon, 7), round(fix.lat, 7), round(fix.acc, 1)]
}

function round(v: number, digits: number): number {
  const k = 10 ** digits
  return Math.round(v * k) / k
}

export function iso(ms: number): string {
  return new Date(ms).toISOString()
}

export function patrolKey(uuid: string): string {
  return `patrol:${uuid}`
}

/** The outbox item that starts a patrol (POST /patrols). */
export function startItem(s: PatrolState, at: { lon?: number | null; lat?: number | null }): NewItem {
  const payload: Record<string, unknown> = { uuid: s.uuid, started_at: iso(s.startedAt) }
  if (at.lon != null && at.lat != null) {
    payload.lon = round(at.lon, 7)
    payload.lat = round(at.lat, 7)
  }
  if (s.gridCode) payload.grid_code = s.gridCode
  return {
    id: s.uuid,
    kind: 'patrol',
    request: { method: 'POST', path: '/patrols' },
    recordKey: patrolKey(s.uuid),
    label: '开始巡查',
    payload,
  }
}

/** Is this outbox item a patrol's start (POST /patrols)? */
export function isStartItem(i: OutboxItem): boolean {
  return i.kind === 'patrol' && i.request?.path === '/patrols'
}

/** A patrol whose start the server refused, with what the phone recorded for it. */
export interface RefusedPatrol {
  /** The start item (needs attention: the server's refusal in `error`). */
  start: OutboxItem
  /** Its chunks and end, kept on the phone and not sent (they wait behind the start). */
  items: OutboxItem[]
  /** Positions in those chunks. */
  points: number
  /** The phone ended it (its end is among the items). */
  ended: boolean
}

/**
 * The patrols whose start the server refused (a 4xx: overlapping another patrol, too old, not
 * one's grid …), oldest first. Their chunks and end are not sent — each would be 404
 * patrol_missing — but wait with the start, so the worker sees one refused patrol and what it
 * holds, not a row of errors; nothing is deleted unless the worker deletes the patrol.
 */
export function refusedPatrols(items: readonly OutboxItem[]): RefusedPatrol[] {
  const held = heldBehind(items)
  const out: RefusedPatrol[] = []
  for (const start of [...items].sort((a, b) => a.seq - b.seq)) {
    if (!isStartItem(start) || (start.state !== 'attention' && start.state !== 'conflict')) continue
    const rest = items.filter((i) => held.get(i.id)?.id === start.id).sort((a, b) => a.seq - b.seq)
    out.push({
      start,
      items: rest,
      points: rest.reduce((n, i) => n + (Array.isArray(i.payload.points) ? i.payload.points.length : 0), 0),
      ended: rest.some((i) => i.request?.path.endsWith('/end')),
    })
  }
  return out
}

/** The refused patrol an item belongs to (its start, or a chunk or end waiting behind it). */
export function refusedPatrolOf(item: OutboxItem, items: readonly OutboxItem[]): RefusedPatrol | undefined {
  return refusedPatrols(items).find((r) => r.start.id === item.id || r.items.some((i) => i.id === item.id))
}

const START_REFUSED: Record<string, string> = {
  patrol_overlap: '与您的另一次巡查时间重叠（手机时间可能不准）',
  too_old: '开始时间早于 7 天前，已不能计入',
  bad_time: '开始时间晚于服务器时间（手机时间可能不准）',
  not_own_grid: '只能在自己的网格开始巡查',
}

/** Words for a refused start, in the style of the other refused items (服务器未接受…). */
export function patrolRefusalText(e: ItemError | undefined): string {
  const head = '服务器未接受这次巡查'
  if (!e) return head
  const words = START_REFUSED[e.code] ?? e.message.split(' / ')[0]
  return words ? `${head}：${words}` : head
}

/** The outbox item of one chunk (POST /patrols/<uuid>/track). */
export function chunkItem(s: PatrolState, points: TrackPoint[]): NewItem {
  return {
    id: s.nextChunkId,
    kind: 'patrol',
    request: { method: 'POST', path: `/patrols/${s.uuid}/track` },
    recordKey: patrolKey(s.uuid),
    label: `巡查轨迹 第 ${s.seq} 段 · ${points.length} 个点`,
    payload: { uuid: s.nextChunkId, seq: s.seq, points },
  }
}

/** The outbox item that ends a patrol (POST /patrols/<uuid>/end). */
export function endItem(s: PatrolState, id: string, endedAt: number): NewItem {
  return {
    id,
    kind: 'patrol',
    request: { method: 'POST', path: `/patrols/${s.uuid}/end` },
    recordKey: patrolKey(s.uuid),
    label: '结束巡查',
    payload: { ended_at: iso(endedAt) },
  }
}

/**
 * The patrol being recorded on this phone. Calls are serialised (fixes arrive while a chunk is
 * being written); every change is in the store before the promise resolves.
 */
export class PatrolRecorder {
  state: PatrolState | null = null
  private stopWatch: (() => void) | null = null
  private chain: Promise<unknown> = Promise.resolve()

  constructor(private readonly d: PatrolDeps) {}

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.chain.then(fn, fn)
    this.chain = next.catch(() => undefined)
    return next
  }

  private changed(): void {
    this.d.onChange?.(this.state)
  }

  /** After a restart: the open patrol (with its buffered points), watching again. */
  resume(): Promise<PatrolState | null> {
    return this.serial(async () => {
      const s = await this.d.store.load()
      this.state = s && s.userId === this.d.userId() ? s : null
      if (this.state) {
        this.watch()
        // a chunk may have come due while the app was closed
        await this.cutIfDue()
      }
      this.changed()
      return this.state
    })
  }

  /** 开始巡查: queue the start (an outbox item) and begin sampling. */
  start(opts: { lon?: number | null; lat?: number | null; gridCode?: string | null } = {}): Promise<PatrolState> {
    return this.serial(async () => {
      if (this.state) return this.state
      const userId = this.d.userId()
      if (userId == null) throw new Error('not signed in')
      const s: PatrolState = {
        uuid: this.d.uuid(),
        userId,
        startedAt: this.d.now(),
        gridCode: opts.gridCode ?? null,
        last: null,
        pending: [],
        seq: 1,
        nextChunkId: this.d.uuid(),
        points: 0,
        distanceM: 0,
        dropped: { inaccurate: 0, still: 0, jump: 0, invalid: 0 },
      }
      await this.d.store.queue([startItem(s, opts)], s)
      this.state = s
      this.watch()
      this.changed()
      return s
    })
  }

  /** One position: kept or dropped by the rule; a chunk is cut when one is due. */
  addFix(fix: GeoFix): Promise<FixVerdict> {
    return this.serial(async () => {
      const s = this.state
      if (!s) return 'invalid'
      // a position from before the start (a cached one) is not part of this patrol
      const verdict = fix.t < s.startedAt - 1000 ? 'invalid' : judgeFix(s.last, fix)
      if (verdict === 'jump' && s.points === 1 && s.pending.length === 1) {
        // A cold GPS start: the first point is far off, so every good fix after it looks like
        // a jump and the whole patrol would be lost. Two jumping fixes within reach of each
        // other mean the first point was the jump: it goes and the walk starts again there.
        const prev = s.jumpedTo
        const p = toPoint(fix)
        if (prev && judgeFix(prev, fix) !== 'jump' && judgeFix(prev, fix) !== 'invalid') {
          s.pending = [prev, p]
          s.last = p
          s.points = 2
          s.distanceM = distanceM(prev[1], prev[2], p[1], p[2])
          s.dropped.jump = (s.dropped.jump ?? 0) + 1 // the first point, in place of the fix kept
          s.jumpedTo = null
          await this.d.store.save(s)
          this.changed()
          return 'keep'
        }
        s.jumpedTo = p
      }
      if (verdict !== 'keep') {
        s.dropped[verdict] = (s.dropped[verdict] ?? 0) + 1
        return verdict
      }
      const p = toPoint(fix)
      if (s.last) s.distanceM += distanceM(s.last[1], s.last[2], p[1], p[2])
      s.last = p
      s.pending.push(p)
      s.points++
      if (chunkDue(s.pending, this.d.now())) await this.cut(s)
      else await this.d.store.save(s)
      this.changed()
      return verdict
    })
  }

  /** The timer: cut a chunk whose oldest point is 5 minutes old, fixes or not. */
  tick(): Promise<void> {
    return this.serial(async () => {
      if (await this.cutIfDue()) this.changed()
    })
  }

  /** 结束巡查: the last chunk and the end, queued with the state cleared, in one transaction. */
  end(): Promise<void> {
    return this.serial(async () => {
      const s = this.state
      if (!s) return
      this.unwatch()
      const endedAt = Math.max(this.d.now(), s.last?.[0] ?? 0)
      const items: NewItem[] = []
      if (s.pending.length) items.push(chunkItem(s, s.pending))
      items.push(endItem(s, this.d.uuid(), endedAt))
      await this.d.store.queue(items, null)
      this.state = null
      this.changed()
    })
  }

  /** Stop sampling without ending (the app is closing or the user signs out). */
  pause(): void {
    this.unwatch()
  }

  private async cutIfDue(): Promise<boolean> {
    const s = this.state
    if (!s || !chunkDue(s.pending, this.d.now())) return false
    await this.cut(s)
    return true
  }

  private async cut(s: PatrolState): Promise<void> {
    const item = chunkItem(s, s.pending.slice(0, CHUNK_POINTS))
    const rest = s.pending.slice(CHUNK_POINTS)
    const next: PatrolState = { ...s, pending: rest, seq: s.seq + 1, nextChunkId: this.d.uuid() }
    await this.d.store.queue([item], next)
    Object.assign(s, next)
  }

  private watch(): void {
    if (this.stopWatch || !this.d.geo) return
    this.stopWatch = this.d.geo.watch(
      (fix) => void this.addFix(fix),
      (message) => this.d.onGeoError?.(message),
    )
  }

  private unwatch(): void {
    this.stopWatch?.()
    this.stopWatch = null
  }
}

/** What the patrol bar shows: minutes and seconds since the start. */
export function elapsedText(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000))
  const h = Math.floor(s / 3600)
  const m = Math.floor((s % 3600) / 60)
  const sec = s % 60
  const two = (n: number) => String(n).padStart(2, '0')
  return h ? `${h}:${two(m)}:${two(sec)}` : `${two(m)}:${two(sec)}`
}

export function distanceText(m: number): string {
  return m < 1000 ? `${Math.round(m)} 米` : `${(m / 1000).toFixed(2)} 公里`
}

const DROP_ZH: Record<string, string> = {
  bad_value: '数值无效',
  inaccurate: '精度差',
  outside_time: '不在巡查时间内',
  duplicate: '重复',
  teleport: '位置跳变',
}

/**
 * What the server said to a patrol item, in words: a chunk's kept and dropped points (by reason),
 * or the notice that starting this patrol ended an earlier one left open.
 */
export function answerText(body: Record<string, unknown> | null | undefined): string {
  if (!body) return ''
  const parts: string[] = []
  if (typeof body.accepted === 'number') {
    parts.push(`服务器接收 ${body.accepted} 个点`)
    const dropped = Array.isArray(body.dropped) ? (body.dropped as Array<{ reason?: string }>) : []
    if (dropped.length) {
      const by = new Map<string, number>()
      for (const d of dropped) by.set(d.reason ?? '', (by.get(d.reason ?? '') ?? 0) + 1)
      parts.push(`舍弃 ${dropped.length} 个（${[...by].map(([r, n]) => `${DROP_ZH[r] ?? r} ${n}`).join('，')}）`)
    }
  }
  if (typeof body.notice === 'string' && body.notice) parts.push(body.notice.split(' / ')[0]!)
  return parts.join('，')
}
