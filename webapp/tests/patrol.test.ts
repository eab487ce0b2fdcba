import { IDBFactory } from 'fake-indexeddb'
import { beforeEach, describe, expect, it } from 'vitest'
import { ApiClient } from '@/shared/api'
import { kvGet, openFieldDB, type AppDB } from '@/app/db'
import { Outbox } from '@/app/outbox'
import {
  answerText,
  CHUNK_POINTS,
  chunkDue,
  distanceM,
  elapsedText,
  judgeFix,
  outboxStore,
  patrolKey,
  patrolRefusalText,
  PatrolRecorder,
  refusedPatrols,
  type GeoFix,
  type GeoSource,
  type TrackPoint,
} from '@/app/patrol'
import { FakeServer } from './fake-server'

let server: FakeServer
let db: AppDB
let now: number
let outbox: Outbox
let ids: number
let geo: FakeGeo
const T0 = Date.UTC(2026, 10, 29, 1, 0, 0) // 09:00 in Asia/Shanghai

/** A geolocation source the test drives: `emit` delivers a fix to the watcher. */
class FakeGeo implements GeoSource {
  listener: ((f: GeoFix) => void) | null = null
  watching = 0
  watch(onFix: (f: GeoFix) => void): () => void {
    this.listener = onFix
    this.watching++
    return () => {
      this.listener = null
      this.watching--
    }
  }
}

function recorder(): PatrolRecorder {
  return new PatrolRecorder({
    store: outboxStore(db, outbox),
    now: () => now,
    uuid: () => `00000000-0000-4000-8000-${String(++ids).padStart(12, '0')}`,
    userId: () => 7,
    geo,
  })
}

/** A point `m` metres east of the start (≈ 106.3, 38.47). */
function east(m: number, t: number, acc = 8): GeoFix {
  return { t, lon: 106.3 + m / (111_320 * Math.cos((38.47 * Math.PI) / 180)), lat: 38.47, acc }
}

async function deliver(rec: PatrolRecorder, fix: GeoFix): Promise<string> {
  now = fix.t
  return rec.addFix(fix)
}

beforeEach(async () => {
  globalThis.indexedDB = new IDBFactory()
  server = new FakeServer()
  db = await openFieldDB()
  now = T0
  ids = 0
  geo = new FakeGeo()
  const api = new ApiClient({ fetch: server.fetch as typeof fetch, getCsrf: () => 'token-1', setCsrf: () => undefined })
  outbox = new Outbox({ db, api, userId: () => 7, now: () => now, random: () => 0.5, lock: (fn) => fn() })
})

describe('the sampling rule', () => {
  const last: TrackPoint = [T0, 106.3, 38.47, 5]
  it('drops fixes less accurate than 50 m', () => {
    expect(judgeFix(null, east(0, T0, 50))).toBe('keep')
    expect(judgeFix(null, east(0, T0, 50.1))).toBe('inaccurate')
    expect(judgeFix(last, east(500, T0 + 5000, 80))).toBe('inaccurate')
  })
  it('keeps a fix 10 m or more from the last kept one, or 60 s after it', () => {
    expect(judgeFix(last, east(9.5, T0 + 5000))).toBe('still')
    expect(judgeFix(last, east(10.5, T0 + 5000))).toBe('keep')
    expect(judgeFix(last, east(0, T0 + 59_999))).toBe('still')
    expect(judgeFix(last, east(0, T0 + 60_000))).toBe('keep')
  })
  it('drops a jump (faster than 70 m/s from the last kept point); the walk after it is kept', async () => {
    expect(judgeFix(last, east(690, T0 + 10_000))).toBe('keep')
    expect(judgeFix(last, east(710, T0 + 10_000))).toBe('jump')
    const rec = recorder()
    await rec.start()
    await deliver(rec, east(0, T0 + 1000))
    await deliver(rec, east(12, T0 + 11_000))
    expect(await deliver(rec, { t: T0 + 12_000, lon: 106.3, lat: 38.92, acc: 5 })).toBe('jump') // 50 km north
    expect(await deliver(rec, east(24, T0 + 21_000))).toBe('keep')
    expect(rec.state!.points).toBe(3)
    expect(rec.state!.distanceM).toBeCloseTo(24, 0)
    expect(rec.state!.dropped.jump).toBe(1)
  })
  it('a first point far off (a cold GPS start) is dropped, not the walk after it', async () => {
    const rec = recorder()
    await rec.start()
    await deliver(rec, { t: T0 + 1000, lon: 106.3, lat: 38.92, acc: 5 }) // 50 km north
    expect(await deliver(rec, east(0, T0 + 11_000))).toBe('jump')
    expect(await deliver(rec, east(12, T0 + 21_000))).toBe('keep')
    expect(await deliver(rec, east(24, T0 + 31_000))).toBe('keep')
    expect(rec.state!.points).toBe(3)
    expect(rec.state!.pending.map((p) => p[0])).toEqual([T0 + 11_000, T0 + 21_000, T0 + 31_000])
    expect(rec.state!.distanceM).toBeCloseTo(24, 0)
  })
  it('refuses nonsense: non-finite, out of range, time not moving on', () => {
    expect(judgeFix(null, { t: T0, lon: NaN, lat: 38, acc: 5 })).toBe('invalid')
    expect(judgeFix(null, { t: T0, lon: 106, lat: 91, acc: 5 })).toBe('invalid')
    expect(judgeFix(null, { t: T0, lon: 181, lat: 38, acc: 5 })).toBe('invalid')
    expect(judgeFix(last, east(100, T0))).toBe('invalid')
    expect(judgeFix(last, east(100, T0 - 1000))).toBe('invalid')
  })
  it('measures distance on the sphere', () => {
    expect(distanceM(106.3, 38.47, 106.3, 38.48)).toBeCloseTo(1112, 0)
    const e = east(100, T0)
    expect(distanceM(106.3, 38.47, e.lon, e.lat)).toBeCloseTo(100, 0)
  })
  it('a chunk is due at 60 points or when its oldest point is 5 minutes old', () => {
    const pts = (n: number): TrackPoint[] => Array.from({ length: n }, (_, k) => [T0 + k * 1000, 106.3, 38.47, 5])
    expect(chunkDue([], T0 + 3600_000)).toBe(false)
    expect(chunkDue(pts(59), T0 + 59_000)).toBe(false)
    expect(chunkDue(pts(60), T0 + 60_000)).toBe(true)
    expect(chunkDue(pts(3), T0 + 299_999)).toBe(false)
    expect(chunkDue(pts(3), T0 + 300_000)).toBe(true)
  })
  it('says what the server kept and dropped, and an earlier patrol it ended', () => {
    expect(answerText({ accepted: 60, dropped: [] })).toBe('服务器接收 60 个点')
    const dropped = [
      { index: 3, reason: 'teleport' },
      { index: 9, reason: 'duplicate' },
      { index: 10, reason: 'duplicate' },
    ]
    expect(answerText({ accepted: 57, dropped })).toBe('服务器接收 57 个点，舍弃 3 个（位置跳变 1，重复 2）')
    expect(answerText({ patrol: {}, notice: '已结束上一次未结束的巡查 / ended the open patrol' })).toBe('已结束上一次未结束的巡查')
    expect(answerText(null)).toBe('')
  })
  it('shows elapsed time', () => {
    expect(elapsedText(65_000)).toBe('01:05')
    expect(elapsedText(3_725_000)).toBe('1:02:05')
  })
})

describe('recording a patrol', () => {
  it('samples, chunks every 60 points, and sends start → chunks → end once each', async () => {
    const rec = recorder()
    const s = await rec.start({ lon: 106.3, lat: 38.47, gridCode: '640104001001' })
    expect(geo.watching).toBe(1)
    // walking 4 m/s, a fix every second (only every 3rd is ≥ 10 m away), some bad ones
    let kept = 0
    let inaccurate = 0
    for (let k = 1; k <= 900; k++) {
      const bad = k % 50 === 0
      const v = await deliver(rec, east(k * 4, T0 + k * 1000, bad ? 120 : 6))
      if (v === 'keep') kept++
      if (v === 'inaccurate') inaccurate++
    }
    expect(inaccurate).toBe(18)
    expect(kept).toBe(297) // every 3rd fix, the bad ones shift a few by one
    expect(rec.state!.points).toBe(kept)
    expect(rec.state!.distanceM).toBeGreaterThan(3570) // 4 m × 900 = 3600 m walked, the last kept point 12 m or less before the end
    expect(rec.state!.distanceM).toBeLessThanOrEqual(3600.5)
    now += 1000
    await rec.end()
    expect(geo.watching).toBe(0)
    expect(rec.state).toBeNull()
    expect(await kvGet(db, 'patrol')).toBeUndefined()

    const items = await outbox.list()
    expect(items.map((i) => i.kind)).toEqual(items.map(() => 'patrol'))
    expect(items[0]!.payload).toEqual({ uuid: s.uuid, started_at: new Date(T0).toISOString(), lon: 106.3, lat: 38.47, grid_code: '640104001001' })
    expect(items.at(-1)!.payload).toEqual({ ended_at: new Date(now).toISOString() })
    const chunks = items.slice(1, -1)
    expect(chunks.map((c) => c.payload.seq)).toEqual(chunks.map((_, k) => k + 1))
    expect(chunks.map((c) => (c.payload.points as unknown[]).length)).toEqual([CHUNK_POINTS, CHUNK_POINTS, CHUNK_POINTS, CHUNK_POINTS, 57])

    const r = await outbox.sync()
    expect(r.sent).toBe(items.length)
    const order = server.log.map((l) => `${l.method} ${l.path.replace(s.uuid, 'P')}`)
    expect(order[0]).toBe('POST /patrols')
    expect(order.at(-1)).toBe('POST /patrols/P/end')
    expect(order.slice(1, -1).every((o) => o === 'POST /patrols/P/track')).toBe(true)
    const p = server.patrols.get(s.uuid)!
    expect(p.points.length).toBe(kept)
    expect(p.ended_at).toBe(new Date(now).toISOString())
    // the points are in time order, none twice
    const ts = p.points.map((q) => q[0]!)
    expect([...ts].sort((a, b) => a - b)).toEqual(ts)
    expect(new Set(ts).size).toBe(ts.length)
  })

  it('standing still keeps one point a minute and cuts a chunk every 5 minutes', async () => {
    const rec = recorder()
    await rec.start()
    for (let k = 1; k <= 600; k++) await deliver(rec, east(Math.sin(k) * 3, T0 + k * 1000))
    // 600 s standing: a point a minute (10); the one at 360 s finds the first (60 s) 5 min old
    expect(rec.state!.points).toBe(10)
    now = T0 + 15 * 60_000
    await rec.tick() // no fix for a while: the timer still cuts what waits
    const chunks = (await outbox.list()).filter((i) => i.label.startsWith('巡查轨迹'))
    expect(chunks.map((c) => (c.payload.points as unknown[]).length)).toEqual([6, 4])
    expect(rec.state!.pending).toEqual([])
  })

  it('a restart loses nothing: buffered points survive and the next chunk carries them once', async () => {
    const first = recorder()
    const s = await first.start()
    for (let k = 1; k <= 40; k++) await deliver(first, east(k * 12, T0 + k * 5000))
    first.pause() // the app is killed: nothing more from this recorder
    const again = recorder()
    const resumed = await again.resume()
    expect(resumed?.uuid).toBe(s.uuid)
    expect(resumed?.pending.length).toBe(40)
    expect(geo.watching).toBe(1)
    for (let k = 41; k <= 130; k++) await deliver(again, east(k * 12, T0 + k * 5000))
    await again.end()
    await outbox.sync()
    const p = server.patrols.get(s.uuid)!
    expect(p.points.length).toBe(130)
    expect(p.points.map((q) => q[0])).toEqual(Array.from({ length: 130 }, (_, k) => T0 + (k + 1) * 5000))
  })

  it('a chunk cut while the app was closed for longer than 5 minutes is cut on resume', async () => {
    const rec = recorder()
    await rec.start()
    for (let k = 1; k <= 5; k++) await deliver(rec, east(k * 20, T0 + k * 5000))
    rec.pause()
    now = T0 + 20 * 60_000
    await recorder().resume()
    expect((await outbox.list()).filter((i) => i.label.startsWith('巡查轨迹')).length).toBe(1)
    expect((await kvGet(db, 'patrol'))!.pending).toEqual([])
  })

  it('a chunk and the buffer it empties are one transaction: a failed write keeps the points', async () => {
    const rec = recorder()
    await rec.start()
    const realAddAll = outbox.addAll.bind(outbox)
    let fail = true
    outbox.addAll = async (items, kv) => {
      if (fail && items.some((i) => i.label.startsWith('巡查轨迹'))) throw new Error('QuotaExceededError')
      return realAddAll(items, kv)
    }
    for (let k = 1; k <= 60; k++) await deliver(rec, east(k * 12, T0 + k * 5000)).catch(() => 'failed')
    // the 60th point could not be written with its chunk: the stored buffer has the 59 before
    expect((await kvGet(db, 'patrol'))!.pending.length).toBe(59)
    fail = false
    const again = recorder()
    await again.resume()
    await deliver(again, east(61 * 12, T0 + 61 * 5000))
    const chunk = (await outbox.list()).find((i) => i.label.startsWith('巡查轨迹'))!
    expect((chunk.payload.points as unknown[]).length).toBe(60)
  })

  it('another user on the phone does not resume my patrol', async () => {
    const rec = recorder()
    await rec.start()
    const other = new PatrolRecorder({ store: outboxStore(db, outbox), now: () => now, uuid: () => 'x', userId: () => 8, geo })
    expect(await other.resume()).toBeNull()
  })
})

describe('patrol items in the outbox', () => {
  async function walk(n: number): Promise<string> {
    const rec = recorder()
    const s = await rec.start()
    for (let k = 1; k <= n; k++) await deliver(rec, east(k * 12, T0 + k * 5000))
    await rec.end()
    return s.uuid
  }

  it('offline: everything waits; back online each item arrives exactly once, in order', async () => {
    const uuid = await walk(130)
    server.fail('POST', { kind: 'network' }, 1)
    const r1 = await outbox.sync()
    expect(r1.offline).toBe(true)
    expect(server.patrols.size).toBe(0)
    expect((await outbox.list()).every((i) => i.state === 'waiting')).toBe(true)
    await outbox.sync({ force: true })
    expect(server.patrols.get(uuid)!.points.length).toBe(130)
    expect(server.chunks.size).toBe(3)
  })

  it('a lost answer is replayed by the server, never doubled', async () => {
    const uuid = await walk(130)
    server.fail((m, p) => m === 'POST' && p.endsWith('/track'), { kind: 'lost' }, 2)
    await outbox.sync()
    await outbox.sync({ force: true })
    await outbox.sync({ force: true })
    const items = await outbox.list()
    expect(items.every((i) => i.state === 'sent')).toBe(true)
    expect(server.patrols.get(uuid)!.points.length).toBe(130)
    expect(server.chunks.size).toBe(3)
    // the replayed chunk kept the server's first answer
    expect(items.filter((i) => i.label.startsWith('巡查轨迹')).map((i) => i.answer?.body?.accepted)).toEqual([60, 60, 10])
  })

  it('a 5xx on a chunk holds the later chunks and the end (the server sees them in order)', async () => {
    const uuid = await walk(130)
    server.fail((m, p) => m === 'POST' && p.endsWith('/track'), { kind: 'status', status: 503 }, 1)
    const r = await outbox.sync()
    expect(r.retrying).toBe(1)
    const states = (await outbox.list()).map((i) => i.state)
    expect(states).toEqual(['sent', 'waiting', 'waiting', 'waiting', 'waiting'])
    expect(server.requests(`POST /patrols/${uuid}/end`).length).toBe(0)
    now += 10 * 60_000
    await outbox.sync()
    expect((await outbox.list()).every((i) => i.state === 'sent')).toBe(true)
    expect(server.patrols.get(uuid)!.points.length).toBe(130)
    const paths = server.log.filter((l) => l.method === 'POST').map((l) => l.path.replace(uuid, 'P'))
    expect(paths.at(-1)).toBe('/patrols/P/end')
  })

  it('409 (same chunk UUID, other content): shown to the worker, later items held, nothing dropped', async () => {
    const uuid = await walk(70)
    const chunk = (await outbox.list()).find((i) => i.label.startsWith('巡查轨迹'))!
    // the server already holds this chunk UUID with other points (e.g. another phone's copy)
    server.chunks.set(chunk.id, { patrol: uuid, seq: 1, content: 'other', answer: {} })
    server.patrols.set(uuid, { uuid, started_at: new Date(T0).toISOString(), ended_at: null, points: [], chunks: [] })
    server.byUuid.set(uuid, { status: 201, body: {}, content: JSON.stringify((await outbox.get(uuid))!.payload) })
    const r = await outbox.sync()
    expect(r.attention).toBe(1)
    const bad = (await outbox.get(chunk.id))!
    expect(bad.state).toBe('attention')
    expect(bad.error).toMatchObject({ status: 409, code: 'idempotency_conflict' })
    expect(bad.error!.message).toContain('轨迹段编号重复')
    expect((bad.payload.points as unknown[]).length).toBe(60)
    const rest = (await outbox.list()).filter((i) => i.id !== chunk.id && i.id !== uuid)
    expect(rest.map((i) => i.state)).toEqual(['waiting', 'waiting'])
    expect(server.requests(`POST /patrols/${uuid}/end`).length).toBe(0)
    // nothing leaves the outbox by itself
    await outbox.sync({ force: true })
    expect((await outbox.list()).length).toBe(4)
  })

  /** The server refuses the start (409 patrol_overlap: a phone whose clock was set back). */
  function refuseStart(times = 5): void {
    server.fail((m, p) => m === 'POST' && p === '/patrols', {
      kind: 'status',
      status: 409,
      body: { error: 'patrol_overlap', message: '这一时间已在另一次巡查之内 / this start lies inside another patrol of yours', fields: { started_at: 'inside another patrol' }, patrol: 'other' },
    }, times)
  }

  it('a refused start: the worker is told in words, its chunks and end wait with it, unsent, and nothing is dropped', async () => {
    const uuid = await walk(130)
    refuseStart()
    const r = await outbox.sync()
    expect(r.attention).toBe(1)
    await outbox.sync({ force: true })
    // nothing of the refused patrol goes (its chunks would be 404 patrol_missing)
    expect(server.requests('POST /patrols/').length).toBe(0)
    const items = await outbox.list()
    const start = items.find((i) => i.id === uuid)!
    expect(start.state).toBe('attention')
    expect(start.error).toMatchObject({ status: 409, code: 'patrol_overlap' })
    // the chunks and the end belong to the refused patrol (not errors of their own), all kept
    expect(items.filter((i) => i.id !== uuid).map((i) => i.state)).toEqual(['waiting', 'waiting', 'waiting', 'waiting'])
    const [refused, ...others] = refusedPatrols(items)
    expect(others).toEqual([])
    expect(refused!.start.id).toBe(uuid)
    expect(refused!.items.map((i) => i.label)).toEqual(['巡查轨迹 第 1 段 · 60 个点', '巡查轨迹 第 2 段 · 60 个点', '巡查轨迹 第 3 段 · 10 个点', '结束巡查'])
    expect(refused!.points).toBe(130)
    expect(refused!.ended).toBe(true)
    expect(patrolRefusalText(start.error)).toBe('服务器未接受这次巡查：与您的另一次巡查时间重叠（手机时间可能不准）')
    // nothing is due: no pass every second for items that cannot go
    expect(await outbox.nextDue()).toBeNull()
    // the worker retries the start, the server takes it now: the rest follows in order
    server.rules = []
    await outbox.retry(uuid)
    await outbox.sync()
    expect((await outbox.list()).every((i) => i.state === 'sent')).toBe(true)
    expect(server.patrols.get(uuid)!.points.length).toBe(130)
    expect(refusedPatrols(await outbox.list())).toEqual([])
  })

  it('a refused patrol is deleted whole, only when the worker says so', async () => {
    const uuid = await walk(70)
    await walk(3) // a second patrol, accepted
    refuseStart(1) // the first patrol's start; the second's is taken
    await outbox.sync()
    const items = await outbox.list()
    expect(items.filter((i) => i.recordKey === patrolKey(uuid)).map((i) => i.state)).toEqual(['attention', 'waiting', 'waiting', 'waiting'])
    expect(items.filter((i) => i.recordKey !== patrolKey(uuid)).every((i) => i.state === 'sent')).toBe(true)
    const removed = await outbox.discardRecord(patrolKey(uuid))
    expect(removed).toBe(4)
    expect((await outbox.list()).some((i) => i.recordKey === patrolKey(uuid))).toBe(false)
    await outbox.sync({ force: true })
    expect(server.requests(`POST /patrols/${uuid}`).length).toBe(0) // no 404 for orphaned chunks
  })

  it('words for each refusal of a start', () => {
    const e = (code: string, message = '服务器的话 / the server’s words') => ({ status: 400, code, message })
    expect(patrolRefusalText(e('too_old'))).toContain('7 天')
    expect(patrolRefusalText(e('bad_time'))).toContain('手机时间')
    expect(patrolRefusalText(e('not_own_grid'))).toContain('自己的网格')
    expect(patrolRefusalText(e('something_new'))).toBe('服务器未接受这次巡查：服务器的话')
    expect(patrolRefusalText(undefined)).toBe('服务器未接受这次巡查')
  })

  it('the end sent twice with the same time is one end; the body is exactly the endpoint’s', async () => {
    const uuid = await walk(3)
    server.fail((m, p) => m === 'POST' && p.endsWith('/end'), { kind: 'lost' }, 1)
    await outbox.sync()
    await outbox.sync({ force: true })
    const ends = server.requests(`POST /patrols/${uuid}/end`)
    expect(ends.length).toBe(2)
    expect(ends[0]!.body).toEqual(ends[1]!.body)
    expect(Object.keys(ends[0]!.body as object)).toEqual(['ended_at'])
    expect((await outbox.list()).every((i) => i.state === 'sent')).toBe(true)
  })
})
