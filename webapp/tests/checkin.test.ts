import { IDBFactory } from 'fake-indexeddb'
import { beforeEach, describe, expect, it } from 'vitest'
import { ApiClient } from '@/shared/api'
import { openFieldDB, type AppDB } from '@/app/db'
import { Outbox } from '@/app/outbox'
import { checkInItem, dayStatus, localDay, makeupAt, makeupDays, reasonProblem, type CheckIn } from '@/app/checkin'
import { FakeServer } from './fake-server'

let server: FakeServer
let db: AppDB
let outbox: Outbox
let now: number

beforeEach(async () => {
  globalThis.indexedDB = new IDBFactory()
  server = new FakeServer()
  db = await openFieldDB()
  now = Date.UTC(2026, 10, 29, 0, 30) // 08:30 in Asia/Shanghai
  const api = new ApiClient({ fetch: server.fetch as typeof fetch, getCsrf: () => 'token-1', setCsrf: () => undefined })
  outbox = new Outbox({ db, api, userId: () => 7, now: () => now, random: () => 0.5, lock: (fn) => fn() })
})

describe('days and reasons', () => {
  it('the county’s day is Asia/Shanghai’s', () => {
    expect(localDay(Date.UTC(2026, 10, 28, 15, 59))).toBe('2026-11-28')
    expect(localDay(Date.UTC(2026, 10, 28, 16, 0))).toBe('2026-11-29')
  })
  it('a 补签 is for one of the 7 days before today, at a time of that day', () => {
    expect(makeupDays('2026-03-02')).toEqual(['2026-03-01', '2026-02-28', '2026-02-27', '2026-02-26', '2026-02-25', '2026-02-24', '2026-02-23'])
    expect(makeupAt('2026-11-27', '08:45')).toBe('2026-11-27T08:45:00+08:00')
    expect(localDay(Date.parse(makeupAt('2026-11-27', '00:10')))).toBe('2026-11-27')
    expect(() => makeupAt('2026-11-27', '8:45')).toThrow()
  })
  it('a reason needs two visible characters', () => {
    expect(reasonProblem('  ')).not.toBeNull()
    expect(reasonProblem('病\u200b')).not.toBeNull()
    expect(reasonProblem(' \u202e\u202e ')).not.toBeNull()
    expect(reasonProblem('生病')).toBeNull()
  })
})

describe('check-ins through the outbox', () => {
  it('sends today’s check-in with the position; the day shows accepted', async () => {
    await outbox.add(checkInItem({ uuid: 'c1', at: new Date(now).toISOString(), lon: 106.30000004, lat: 38.47, accuracy: 12.34 }))
    expect(dayStatus('2026-11-29', [], await outbox.list()).state).toBe('waiting')
    await outbox.sync()
    expect(server.requests('POST /check-ins')[0]!.body).toEqual({ uuid: 'c1', at: '2026-11-29T00:30:00.000Z', lon: 106.3, lat: 38.47, accuracy_m: 12.3 })
    const st = dayStatus('2026-11-29', [], await outbox.list())
    expect(st.state).toBe('accepted')
    expect(dayStatus('2026-11-28', [], await outbox.list()).state).toBe('none')
  })

  it('422 outside_grid: the worker sees the nearest grid and the distance; nothing is dropped', async () => {
    await outbox.add(checkInItem({ uuid: 'c2', at: new Date(now).toISOString(), lon: 106.6, lat: 38.47, accuracy: 10 }))
    const r = await outbox.sync()
    expect(r.attention).toBe(1)
    const st = dayStatus('2026-11-29', [], await outbox.list())
    expect(st.state).toBe('refused')
    expect(st.message).toContain('银湖社区第一网格')
    expect(st.message).toContain('1250 米')
    expect(st.item?.error?.detail).toMatchObject({ distance_m: 1250 })
    expect((await outbox.list()).length).toBe(1)
    // made again inside the grid: the day is checked in; the refused item is still there
    now += 60_000
    await outbox.add(checkInItem({ uuid: 'c2b', at: new Date(now).toISOString(), lon: 106.3, lat: 38.47, accuracy: 10 }))
    await outbox.sync()
    expect(dayStatus('2026-11-29', [], await outbox.list()).state).toBe('accepted')
    expect((await outbox.get('c2'))!.state).toBe('attention')
  })

  it('a 补签 carries its reason; the server’s later decision wins over the first answer', async () => {
    await outbox.add(checkInItem({ uuid: 'c3', at: makeupAt('2026-11-27', '08:40'), reason: ' 手机没电 ' }))
    await outbox.sync()
    expect(server.requests('POST /check-ins')[0]!.body).toEqual({ uuid: 'c3', at: '2026-11-27T08:40:00+08:00', reason: '手机没电' })
    const items = await outbox.list()
    expect(items[0]!.label).toBe('补签 · 2026-11-27')
    expect(dayStatus('2026-11-27', [], items).state).toBe('pending')
    const decided: CheckIn = { id: 1, uuid: 'c3', day: '2026-11-27', at: '', grid_code: null, late: false, makeup: true, reason: '手机没电', status: 'rejected', decision_note: '无佐证' }
    const st = dayStatus('2026-11-27', [decided], items)
    expect(st.state).toBe('rejected')
    expect(st.message).toBe('无佐证')
  })

  it('a lost answer: sent again, one check-in on the server', async () => {
    await outbox.add(checkInItem({ uuid: 'c4', at: new Date(now).toISOString(), lon: 106.3, lat: 38.47 }))
    server.fail('POST /check-ins', { kind: 'lost' })
    await outbox.sync()
    await outbox.sync({ force: true })
    expect(server.checkIns.length).toBe(1)
    expect((await outbox.get('c4'))!.answer?.replay).toBe(true)
  })

  it('409 already_checked_in: the day shows the existing check-in; the refused item stays', async () => {
    await outbox.add(checkInItem({ uuid: 'c5', at: new Date(now).toISOString(), lon: 106.3, lat: 38.47 }))
    await outbox.sync()
    now += 60_000
    await outbox.add(checkInItem({ uuid: 'c6', at: new Date(now).toISOString(), lon: 106.3, lat: 38.47 }))
    await outbox.sync()
    expect((await outbox.get('c6'))!.state).toBe('attention')
    const st = dayStatus('2026-11-29', [], await outbox.list())
    expect(st.state).toBe('accepted')
    expect(st.checkIn?.uuid).toBe('c5')
    expect(st.message).toContain('已有签到')
    expect(st.item?.id).toBe('c6')
    expect(server.checkIns.length).toBe(1)
  })

  it('a late check-in reads 迟到', () => {
    const late: CheckIn = { id: 2, uuid: 'x', day: '2026-11-29', at: '', grid_code: 'g', late: true, makeup: false, reason: null, status: 'accepted' }
    expect(dayStatus('2026-11-29', [late], []).text).toBe('已签到（迟到）')
  })
})

describe("a decided check-in's words", () => {
  it('come from the server (status_label), not from the phone', () => {
    const c = {
      id: 7, uuid: 'u-7', day: '2026-11-27', at: '2026-11-27T00:30:00Z', grid_code: null, late: false,
      makeup: true, reason: '手机没电', status: 'approved' as const,
      status_label: { zh: '补签已获批准（服务器）', en: 'approved' },
    }
    expect(dayStatus('2026-11-27', [c], []).text).toBe('补签已获批准（服务器）')
  })
})
