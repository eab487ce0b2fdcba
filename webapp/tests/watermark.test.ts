import { IDBFactory } from 'fake-indexeddb'
import { describe, expect, it } from 'vitest'
import { reactive } from 'vue'
import { ApiClient } from '@/shared/api'
import { openFieldDB } from '@/app/db'
import { Outbox } from '@/app/outbox'
import { capturedAt, photoMeta, watermarkFor } from '@/app/photos'
import { clean, fitText, watermarkLayout, watermarkLines, type WatermarkInfo } from '@/app/watermark'
import { FakeServer } from './fake-server'

const AT = Date.UTC(2026, 10, 29, 1, 5, 7) // 09:05:07 in Asia/Shanghai
const info: WatermarkInfo = { at: AT, lon: 106.2781234, lat: 38.4681, accuracy: 12.4, gridName: '银湖社区第一网格', gridCode: '640104001001', worker: '马小红' }

describe('watermark text', () => {
  it('time in Asia/Shanghai, place, grid, worker', () => {
    expect(watermarkLines(info)).toEqual([
      '时间 2026-11-29 09:05:07 北京时间',
      '位置 106.27812°E 38.46810°N ±12米',
      '网格 银湖社区第一网格（640104001001）',
      '拍摄人 马小红',
    ])
  })
  it('says so when there is no position or no grid', () => {
    const lines = watermarkLines({ ...info, lon: null, lat: null, accuracy: null, gridName: null, gridCode: null })
    expect(lines[1]).toBe('位置 未定位')
    expect(lines[2]).toBe('网格 未识别')
  })
  it('hostile names: controls and bidi overrides out, long ones shortened', () => {
    expect(clean('\u202e红小马\u0007 \n  x')).toBe('红小马 x')
    const lines = watermarkLines({ ...info, worker: '\u202eevil' + '长'.repeat(60) })
    expect(lines[3]!.startsWith('拍摄人 evil')).toBe(true)
    expect(Array.from(lines[3]!.slice(4)).length).toBe(24)
    expect(lines[3]!.endsWith('…')).toBe(true)
  })
  it('a photo from the gallery keeps its own time and states no place', () => {
    const mark: Omit<WatermarkInfo, 'at'> = { lon: info.lon, lat: info.lat, accuracy: info.accuracy, gridName: info.gridName, gridCode: info.gridCode, worker: info.worker }
    const now = AT + 3600_000
    const old = watermarkFor(mark, { lastModified: AT }, now)
    expect(old.at).toBe(AT)
    expect(watermarkLines(old)[1]).toBe('位置 相册照片，拍摄地点不明')
    expect(photoMeta(old)).toMatchObject({ captured_at: new Date(AT).toISOString(), lon: null, lat: null, accuracy_m: null })
    const fresh = watermarkFor(mark, { lastModified: now - 5_000 }, now)
    expect(watermarkLines(fresh)[1]).toBe('位置 106.27812°E 38.46810°N ±12米')
  })
  it('west and south are written as such', () => {
    expect(watermarkLines({ ...info, lon: -0.5, lat: -33.9, accuracy: null })[1]).toBe('位置 0.50000°W 33.90000°S')
  })
})

describe('watermark layout', () => {
  it('a band across the bottom, text inside it, at most ~22 % of the height', () => {
    for (const [w, h] of [
      [1600, 1200],
      [1200, 1600],
      [640, 480],
      [1600, 300],
    ] as const) {
      const l = watermarkLayout(w, h, 4)
      expect(l.band.x).toBe(0)
      expect(l.band.width).toBe(w)
      expect(l.band.y + l.band.height).toBe(h)
      expect(l.band.height).toBeLessThanOrEqual(h * 0.22 + 1)
      expect(l.ys.length).toBe(4)
      for (const y of l.ys) {
        expect(y).toBeGreaterThan(l.band.y)
        expect(y).toBeLessThan(h)
      }
      expect(l.ys[1]! - l.ys[0]!).toBeGreaterThanOrEqual(l.fontPx)
    }
    expect(watermarkLayout(1600, 1200, 4).fontPx).toBe(36)
    expect(watermarkLayout(640, 480, 4).fontPx).toBe(14)
  })
  it('a line too wide is shortened with …', () => {
    const measure = (s: string) => Array.from(s).length * 10
    expect(fitText('abc', 100, measure)).toBe('abc')
    expect(fitText('abcdefghijklmnop', 100, measure)).toBe('abcdefghi…')
    expect(measure(fitText('网'.repeat(50), 95, measure))).toBeLessThanOrEqual(95)
  })
})

describe('photo evidence with the upload', () => {
  it('capture time: the file’s when plausible, else now', () => {
    const now = AT
    expect(capturedAt({ lastModified: now - 5000 }, now)).toBe(now - 5000)
    expect(capturedAt({ lastModified: 0 }, now)).toBe(now)
    expect(capturedAt({ lastModified: now + 3600_000 }, now)).toBe(now)
    expect(capturedAt({ lastModified: now - 2 * 366 * 24 * 3600_000 }, now)).toBe(now)
  })
  it('the upload begin carries captured_at, lon, lat, accuracy_m, watermarked=true', async () => {
    globalThis.indexedDB = new IDBFactory()
    const server = new FakeServer()
    const db = await openFieldDB()
    const api = new ApiClient({ fetch: server.fetch as typeof fetch, getCsrf: () => 'token-1', setCsrf: () => undefined })
    const outbox = new Outbox({ db, api, userId: () => 7, now: () => AT, random: () => 0.5, lock: (fn) => fn() })
    const data = new Uint8Array(300).buffer
    // the form holds its photos in reactive state: the meta arrives as a Proxy
    const meta = reactive(photoMeta(info))
    await outbox.add({
      id: 'r1',
      kind: 'report',
      label: '上报',
      payload: { category_id: 1, description: 'x' },
      photos: [{ uuid: 'p1', data, type: 'image/jpeg', name: 'p1.jpg', meta }, { uuid: 'p2', data, type: 'image/jpeg', name: 'p2.jpg' }],
    })
    await outbox.sync()
    const begins = server.requests('POST /uploads').map((r) => r.body)
    expect(begins[0]).toEqual({
      uuid: 'p1',
      total_bytes: 300,
      filename: 'p1.jpg',
      captured_at: '2026-11-29T01:05:07.000Z',
      lon: 106.2781234,
      lat: 38.4681,
      accuracy_m: 12.4,
      watermarked: true,
      source: 'field',
    })
    // a photo without a watermark (an old item) says nothing more than before
    expect(begins[1]).toEqual({ uuid: 'p2', total_bytes: 300, filename: 'p2.jpg' })
    expect(server.cases.length).toBe(1)
  })
})
