import { IDBFactory } from 'fake-indexeddb'
import { beforeEach, describe, expect, it, vi } from 'vitest'
import { ApiClient } from '@/shared/api'
import { openFieldDB, StorageFullError, type AppDB } from '@/app/db'
import { backoffDelay, Outbox, type NewItem, type OutboxChannel } from '@/app/outbox'
import { FakeServer } from './fake-server'

let server: FakeServer
let db: AppDB
let now: number
let csrf: string
let outbox: Outbox
let unauthorized: number
let seenCases: number[]
let user: number | null

function photo(uuid: string, bytes: number) {
  const data = new Uint8Array(bytes)
  for (let i = 0; i < bytes; i++) data[i] = (i * 7 + uuid.length) % 251
  return { uuid, data: data.buffer, type: 'image/jpeg', name: `${uuid}.jpg` }
}

function report(id: string, extra: Partial<NewItem> = {}, photos = 0, bytes = 2500): NewItem {
  return {
    id,
    kind: 'report',
    label: `上报 ${id}`,
    payload: { category_id: 1, description: `desc ${id}`, lon: 106.3, lat: 38.1, device_time: '2026-01-01T00:00:00Z' },
    photos: Array.from({ length: photos }, (_, k) => photo(`${id}-p${k}`, bytes)),
    ...extra,
  }
}

function action(id: string, caseId: number, act: string, version: number, extra: Record<string, unknown> = {}): NewItem {
  return {
    id,
    kind: 'action',
    action: act,
    caseId,
    label: act,
    payload: { action: act, version, device_time: '2026-01-01T00:00:00Z', ...extra },
  }
}

beforeEach(async () => {
  globalThis.indexedDB = new IDBFactory()
  server = new FakeServer()
  db = await openFieldDB()
  now = 1_000_000
  csrf = 'token-1'
  unauthorized = 0
  seenCases = []
  user = 7
  const api = new ApiClient({
    fetch: server.fetch as typeof fetch,
    getCsrf: () => csrf,
    setCsrf: (t) => {
      csrf = t
    },
  })
  outbox = new Outbox({
    db,
    api,
    userId: () => user,
    now: () => now,
    random: () => 0.5,
    pieceBytes: () => 1000,
    lock: (fn) => fn(),
    onUnauthorized: () => unauthorized++,
    onCase: (c) => seenCases.push(c.id),
  })
})

const states = async () => Object.fromEntries((await outbox.list()).map((i) => [i.id, i.state]))

describe('outbox: order and photos', () => {
  it('sends oldest first, photos (in pieces) before the case that refers to them', async () => {
    await outbox.add(report('a', {}, 1))
    await outbox.add(report('b'))
    await outbox.add(report('c', {}, 2))
    const r = await outbox.sync()
    expect(r.sent).toBe(3)
    expect(server.cases.map((c) => c.uuid)).toEqual(['a', 'b', 'c'])
    const seq = server.log.filter((l) => l.method !== 'GET').map((l) => `${l.method} ${l.path}`)
    // a's photo: create + 3 pieces of ≤1000 bytes, then the case
    expect(seq.slice(0, 5)).toEqual(['POST /uploads', 'PUT /uploads/a-p0', 'PUT /uploads/a-p0', 'PUT /uploads/a-p0', 'POST /cases'])
    const caseA = server.requests('POST /cases').map((r) => r.body as { uuid: string; photos: string[] })
    expect(caseA[0]).toMatchObject({ uuid: 'a', photos: ['a-p0'] })
    expect(caseA[2]).toMatchObject({ uuid: 'c', photos: ['c-p0', 'c-p1'] })
    for (const piece of server.requests('PUT /uploads')) expect((piece.body as ArrayBuffer).byteLength).toBeLessThanOrEqual(1000)
    // the photos arrived intact
    const up = server.uploads.get('a-p0')!
    expect(Array.from(up.data)).toEqual(Array.from(new Uint8Array(photo('a-p0', 2500).data)))
    expect(await states()).toEqual({ a: 'sent', b: 'sent', c: 'sent' })
  })

  it('keeps sent items visible (without their photo data) until purged', async () => {
    await outbox.add(report('a', {}, 1))
    await outbox.sync()
    const item = await outbox.get('a')
    expect(item?.state).toBe('sent')
    expect(item?.result?.caseId).toBe(server.cases[0]!.id)
    expect(await outbox.photo('a-p0')).toBeUndefined()
    now += 3600_000
    expect(await outbox.purgeSent()).toBe(0)
    now += 4 * 24 * 3600_000
    expect(await outbox.purgeSent()).toBe(1)
    expect(await outbox.list()).toEqual([])
  })

  it('a double tap (same UUID added twice) makes one item and one case', async () => {
    const first = await outbox.add(report('same', {}, 1))
    const second = await outbox.add(report('same', {}, 1))
    expect(second.seq).toBe(first.seq)
    expect((await outbox.list()).length).toBe(1)
    await Promise.all([outbox.sync(), outbox.sync()])
    expect(server.cases.length).toBe(1)
  })

  it('sends only the signed-in user’s items', async () => {
    await outbox.add(report('mine'))
    user = 8
    await outbox.add(report('theirs'))
    user = 7
    await outbox.sync()
    expect(await states()).toEqual({ mine: 'sent', theirs: 'waiting' })
  })
})

describe('outbox: retries', () => {
  it('backoff grows exponentially with jitter and a cap', () => {
    expect(backoffDelay(1, () => 0)).toBe(1000)
    expect(backoffDelay(1, () => 1)).toBe(2000)
    expect(backoffDelay(2, () => 1)).toBe(4000)
    expect(backoffDelay(5, () => 1)).toBe(32000)
    expect(backoffDelay(30, () => 1)).toBe(300_000)
    expect(backoffDelay(30, () => 0)).toBe(150_000)
    const many = new Set(Array.from({ length: 50 }, () => backoffDelay(3)))
    expect(many.size).toBeGreaterThan(1)
    for (const d of many) expect(d).toBeGreaterThanOrEqual(4000)
  })

  it('network error: waits with backoff, ends the pass, nothing removed; sent later', async () => {
    await outbox.add(report('a', {}, 1))
    await outbox.add(report('b'))
    server.fail('POST /uploads', { kind: 'network' })
    const r = await outbox.sync()
    expect(r.offline).toBe(true)
    expect(server.requests('POST /cases').length).toBe(0) // b not tried: the network is down
    const a = (await outbox.get('a'))!
    expect(a.state).toBe('waiting')
    expect(a.attempts).toBe(1)
    expect(a.nextAt).toBe(now + backoffDelay(1, () => 0.5))
    expect(await outbox.photo('a-p0')).toBeDefined()
    // not due yet: a timer pass skips a but sends b
    await outbox.sync()
    expect(await states()).toEqual({ a: 'waiting', b: 'sent' })
    now = a.nextAt + 1
    await outbox.sync()
    expect(await states()).toEqual({ a: 'sent', b: 'sent' })
    expect(server.cases.length).toBe(2)
  })

  it('5xx: retried with growing delays until the server recovers; exactly one case', async () => {
    await outbox.add(report('a', {}, 1))
    server.fail('POST /cases', { kind: 'status', status: 500 }, 3)
    const delays: number[] = []
    for (let k = 0; k < 3; k++) {
      const r = await outbox.sync()
      expect(r.retrying).toBe(1)
      const a = (await outbox.get('a'))!
      expect(a.state).toBe('waiting')
      expect(a.error?.status).toBe(500)
      delays.push(a.nextAt - now)
      now = a.nextAt
    }
    expect(delays[1]).toBeGreaterThan(delays[0]!)
    expect(delays[2]).toBeGreaterThan(delays[1]!)
    await outbox.sync()
    expect((await outbox.get('a'))!.state).toBe('sent')
    expect(server.cases.length).toBe(1)
    // the photo was uploaded once, not again on every retry
    expect(server.requests('PUT /uploads').length).toBe(3)
  })

  it('503 with Retry-After waits at least that long', async () => {
    await outbox.add(report('a'))
    server.fail('POST /cases', { kind: 'status', status: 503, headers: { 'Retry-After': '120' } })
    await outbox.sync()
    expect((await outbox.get('a'))!.nextAt - now).toBeGreaterThanOrEqual(120_000)
  })

  it('a 5xx on one item does not hold back the others', async () => {
    await outbox.add(report('a'))
    await outbox.add(report('b'))
    server.fail((m, p) => m === 'POST' && p === '/cases' && server.log.at(-1)?.body !== undefined && (server.log.at(-1)!.body as { uuid: string }).uuid === 'a', {
      kind: 'status',
      status: 502,
    })
    await outbox.sync()
    expect(await states()).toEqual({ a: 'waiting', b: 'sent' })
  })

  it('force (app start, back online, 立即发送) ignores the backoff', async () => {
    await outbox.add(report('a'))
    server.fail('POST /cases', { kind: 'network' })
    await outbox.sync()
    expect((await outbox.get('a'))!.state).toBe('waiting')
    await outbox.sync({ force: true })
    expect((await outbox.get('a'))!.state).toBe('sent')
  })

  it('an item caught "sending" by a restart is sent again on recovery', async () => {
    const item = await outbox.add(report('a'))
    await db.put('outbox', { ...item, state: 'sending' })
    await outbox.recover()
    expect((await outbox.get('a'))!.state).toBe('waiting')
  })
})

describe('outbox: idempotent re-send', () => {
  it('the answer to the case is lost: the re-send replays, one case on the server', async () => {
    await outbox.add(report('a', {}, 1))
    server.fail('POST /cases', { kind: 'lost' })
    await outbox.sync()
    expect(server.cases.length).toBe(1) // the server made it
    expect((await outbox.get('a'))!.state).toBe('waiting') // but the phone does not know
    await outbox.sync({ force: true })
    const a = (await outbox.get('a'))!
    expect(a.state).toBe('sent')
    expect(a.result?.replay).toBe(true)
    expect(server.cases.length).toBe(1)
  })

  it('server killed mid-upload: resumes from the bytes it has', async () => {
    await outbox.add(report('a', {}, 1, 3500)) // 4 pieces
    let puts = 0
    server.fail((m, p) => m === 'PUT' && p.startsWith('/uploads/') && ++puts === 3, { kind: 'network' })
    await outbox.sync()
    const a = (await outbox.get('a'))!
    expect(a.state).toBe('waiting')
    expect(a.photos[0]!.received).toBe(2000)
    await outbox.sync({ force: true })
    expect((await outbox.get('a'))!.state).toBe('sent')
    const offsets = server.requests('PUT /uploads').map((r) => Number(r.query.get('offset')))
    expect(offsets).toEqual([0, 1000, 2000, 2000, 3000])
    expect(Array.from(server.uploads.get('a-p0')!.data)).toEqual(Array.from(new Uint8Array(photo('a-p0', 3500).data)))
  })

  it('a piece received but its answer lost is acknowledged again; a bad offset resumes where the server is', async () => {
    await outbox.add(report('a', {}, 1, 3500))
    let puts = 0
    server.fail((m, p) => m === 'PUT' && p.startsWith('/uploads/') && ++puts === 2, { kind: 'lost' })
    await outbox.sync()
    // the phone thinks 1000 bytes are in; the server has 2000
    expect((await outbox.get('a'))!.photos[0]!.received).toBe(1000)
    await outbox.sync({ force: true })
    expect((await outbox.get('a'))!.state).toBe('sent')
    expect(server.uploads.get('a-p0')!.received).toBe(3500)
    expect(server.cases.length).toBe(1)
  })
})

describe('outbox: needs attention and conflicts', () => {
  it('4xx: needs attention with the server’s message; others are not blocked; fix and resend', async () => {
    server.retiredCategories.add(99)
    await outbox.add(report('bad', { payload: { category_id: 99, description: 'x', device_time: 'now' } }, 1))
    await outbox.add(report('good'))
    const r = await outbox.sync()
    expect(r.attention).toBe(1)
    expect(await states()).toEqual({ bad: 'attention', good: 'sent' })
    const bad = (await outbox.get('bad'))!
    expect(bad.error?.message).toBe('该类别已停用')
    expect(bad.error?.fields).toEqual({ category_id: '已停用' })
    expect(await outbox.photo('bad-p0')).toBeDefined() // kept for the worker
    // a later pass does not retry it by itself
    await outbox.sync({ force: true })
    expect((await outbox.get('bad'))!.state).toBe('attention')
    await outbox.fix('bad', { payload: { category_id: 1 } })
    await outbox.sync()
    expect((await outbox.get('bad'))!.state).toBe('sent')
    expect(server.cases.length).toBe(2)
  })

  it('the worker can discard an item that needs attention', async () => {
    server.retiredCategories.add(99)
    await outbox.add(report('bad', { payload: { category_id: 99, description: 'x', device_time: 'now' } }, 1))
    await outbox.sync()
    await outbox.discard('bad')
    expect(await outbox.list()).toEqual([])
    expect(await outbox.photo('bad-p0')).toBeUndefined()
  })

  it('409 stale_version: a conflict with the current case; re-done against the new version', async () => {
    const c = server.addCase({ state: 'resolved', version: 3 })
    c.version = 5 // a dispatcher acted meanwhile (still resolved)
    await outbox.add(action('v1', c.id, 'verify', 3, { passed: true }))
    const r = await outbox.sync()
    expect(r.conflicts).toBe(1)
    const item = (await outbox.get('v1'))!
    expect(item.state).toBe('conflict')
    expect(item.conflict?.code).toBe('stale_version')
    expect(item.conflict?.case?.version).toBe(5)
    expect(seenCases).toContain(c.id) // the cached case is refreshed
    await outbox.fix('v1', { payload: { version: 5 }, newId: 'v2' })
    await outbox.sync()
    expect(await states()).toEqual({ v2: 'sent' })
    expect(c.state).toBe('closed')
  })

  it('409 invalid_transition (re-dispatched while the verify waited offline) is a conflict too', async () => {
    const c = server.addCase({ state: 'dispatched', version: 6 })
    await outbox.add(action('v1', c.id, 'verify', 6, { passed: true }))
    await outbox.sync()
    const item = (await outbox.get('v1'))!
    expect(item.state).toBe('conflict')
    expect(item.conflict?.case?.state).toBe('dispatched')
    await outbox.discard('v1')
    expect(c.state).toBe('dispatched')
  })

  it('actions on one case keep their order: a later one waits behind a failed earlier one', async () => {
    const c = server.addCase({ state: 'dispatched', version: 2 })
    const other = server.addCase({ state: 'resolved', version: 1 })
    await outbox.add(action('sign', c.id, 'sign', 2))
    await outbox.add({ ...action('resolve', c.id, 'resolve', 2, { note: 'done' }), after: 'sign' })
    await outbox.add(action('verify', other.id, 'verify', 1, { passed: true }))
    server.fail(`POST /cases/${c.id}/actions`, { kind: 'status', status: 500 })
    await outbox.sync()
    expect(await states()).toEqual({ sign: 'waiting', resolve: 'waiting', verify: 'sent' })
    expect(server.requests(`POST /cases/${c.id}/actions`).length).toBe(1)
    await outbox.sync({ force: true })
    expect(await states()).toEqual({ sign: 'sent', resolve: 'sent', verify: 'sent' })
    expect(c.state).toBe('resolved')
  })

  it('an action queued behind my own earlier one is sent with the version the server gave that one', async () => {
    server.versionStep = 2 // e.g. the server bumps the version twice in one action
    const c = server.addCase({ state: 'dispatched', version: 4 })
    await outbox.add(action('sign', c.id, 'sign', 4))
    await outbox.add({ ...action('resolve', c.id, 'resolve', 4, { note: 'done' }), after: 'sign' })
    await outbox.sync()
    expect(await states()).toEqual({ sign: 'sent', resolve: 'sent' })
    expect((server.requests(`POST /cases/${c.id}/actions`)[1]!.body as { version: number }).version).toBe(6)
    expect(c.state).toBe('resolved')
  })

  it('…but a change by someone else in between is still a conflict', async () => {
    const c = server.addCase({ state: 'dispatched', version: 4 })
    await outbox.add(action('sign', c.id, 'sign', 4))
    await outbox.add({ ...action('resolve', c.id, 'resolve', 4, { note: 'done' }), after: 'sign' })
    server.fail(`POST /cases/${c.id}/actions`, { kind: 'network' })
    await outbox.sync()
    c.version += 1 // a dispatcher's comment meanwhile
    await outbox.sync({ force: true })
    expect(await states()).toEqual({ sign: 'conflict', resolve: 'waiting' })
    // the worker re-does the sign against the new version; the resolve follows it
    await outbox.fix('sign', { payload: { version: c.version }, newId: 'sign2' })
    await outbox.sync()
    expect(await states()).toEqual({ sign2: 'sent', resolve: 'sent' })
    expect(c.state).toBe('resolved')
  })

  it('401 (session expired offline): everything kept, asks to sign in, then sends', async () => {
    await outbox.add(report('a', {}, 1))
    await outbox.add(report('b'))
    server.signedIn = false
    const r = await outbox.sync()
    expect(r.unauthorized).toBe(true)
    expect(unauthorized).toBeGreaterThan(0)
    expect(await states()).toEqual({ a: 'waiting', b: 'waiting' })
    expect((await outbox.get('a'))!.error?.code).toBe('unauthorized')
    server.signedIn = true
    await outbox.sync({ force: true })
    expect(await states()).toEqual({ a: 'sent', b: 'sent' })
  })

  it('a stale CSRF token (browser restarted) is refreshed and the request retried', async () => {
    server.acceptedCsrf = new Set(['fresh-only'])
    csrf = 'old'
    await outbox.add(report('a'))
    await outbox.sync()
    expect((await outbox.get('a'))!.state).toBe('sent')
    expect(server.requests('GET /auth/csrf').length).toBe(1)
  })

  it('a bad image (422) needs attention; removing the photo lets it go', async () => {
    await outbox.add(report('a', {}, 2))
    server.fail('PUT /uploads/a-p1', { kind: 'status', status: 422, body: { error: 'bad_image', message: '无法识别的图片 / not an image' } })
    await outbox.sync()
    const a = (await outbox.get('a'))!
    expect(a.state).toBe('attention')
    expect(a.error?.code).toBe('bad_image')
    await outbox.fix('a', { removePhotos: ['a-p1'] })
    await outbox.sync()
    expect((await outbox.get('a'))!.state).toBe('sent')
    expect((server.requests('POST /cases')[0]!.body as { photos: string[] }).photos).toEqual(['a-p0'])
  })
})

describe('outbox: storage', () => {
  it('storage full: a clear error, nothing half-saved', async () => {
    const spy = vi.spyOn(db, 'transaction').mockImplementation(() => {
      throw new DOMException('quota', 'QuotaExceededError')
    })
    await expect(outbox.add(report('a', {}, 1))).rejects.toBeInstanceOf(StorageFullError)
    spy.mockRestore()
    expect(await outbox.list()).toEqual([])
  })

  it('survives closing and reopening the database (a browser restart)', async () => {
    await outbox.add(report('a', {}, 1))
    db.close()
    const again = await openFieldDB()
    const items = await again.getAll('outbox')
    expect(items.map((i) => i.id)).toEqual(['a'])
    expect((await again.get('photos', 'a-p0'))?.data.byteLength).toBe(2500)
  })
})

describe('outbox: two open tabs (issue 14 item 11)', () => {
  /** BroadcastChannel between tabs, in memory: a message reaches every other listener. */
  function hub() {
    const listeners: Array<{ from: number; fn: () => void }> = []
    let n = 0
    return (): OutboxChannel => {
      const me = ++n
      return {
        post: () => listeners.filter((l) => l.from !== me).forEach((l) => l.fn()),
        listen: (fn) => void listeners.push({ from: me, fn }),
      }
    }
  }

  it('the tab that did not win the sending lock shows what the other tab sent', async () => {
    const channel = hub()
    const api = new ApiClient({ fetch: server.fetch as typeof fetch, getCsrf: () => csrf })
    let bChanges = 0
    const dbB = await openFieldDB()
    const tabA = new Outbox({ db, api, userId: () => user, now: () => now, lock: (fn) => fn(), channel: channel() })
    const tabB = new Outbox({
      db: dbB,
      api,
      userId: () => user,
      now: () => now,
      lock: async () => null, // tab A holds the lock
      onChange: () => bChanges++,
      channel: channel(),
    })
    await tabB.add(report('x'))
    await tabB.add(report('y'))
    expect((await tabB.sync()).skipped).toBe(true)
    const before = bChanges
    expect((await tabA.sync()).sent).toBe(2)
    // tab B was told, and reading its store again shows them sent
    expect(bChanges).toBeGreaterThan(before)
    expect((await tabB.list()).map((i) => i.state)).toEqual(['sent', 'sent'])
    expect(server.cases.length).toBe(2)
  })

  it('a tab is not told of its own changes twice (no echo between tabs)', async () => {
    const channel = hub()
    const api = new ApiClient({ fetch: server.fetch as typeof fetch, getCsrf: () => csrf })
    let aChanges = 0
    let bChanges = 0
    const tabA = new Outbox({ db, api, userId: () => user, lock: (fn) => fn(), onChange: () => aChanges++, channel: channel() })
    new Outbox({ db, api, userId: () => user, lock: (fn) => fn(), onChange: () => bChanges++, channel: channel() })
    await tabA.add(report('z'))
    expect(aChanges).toBe(1)
    expect(bChanges).toBe(1)
  })
})
