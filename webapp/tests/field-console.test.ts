import { describe, expect, it } from 'vitest'
import { setVocabulary } from '../src/shared/i18n'
import type { Workflow } from '../src/shared/types'
import { addDays, clock, countyDay, hoursMinutes, isDay, kmText, patrolColor, patrolIndex, percentText, PATROL_COLORS, trackLatLngs } from '../src/console/pages/field/format'
import { fieldLabel, fieldNames } from '../src/console/pages/field/i18n'
import { DESK_UPLOAD, noWatermarkFlag, photoMeta, uploadPhoto } from '../src/console/util'
import { ApiClient } from '../src/shared/api'
import { FakeServer } from './fake-server'

describe('field-work figures', () => {
  it('writes metres as kilometres, two decimals below 10 km and one above', () => {
    expect(kmText(0)).toBe('0.00')
    expect(kmText(349.6)).toBe('0.35')
    expect(kmText(3424)).toBe('3.42')
    expect(kmText(12_345)).toBe('12.3')
    expect(kmText(null)).toBe('—')
    expect(kmText(Number.NaN)).toBe('—')
    expect(kmText(-5)).toBe('0.00')
  })

  it('writes a duration in whole minutes, as the server’s lines do', () => {
    expect(hoursMinutes(0)).toEqual([0, 0])
    expect(hoursMinutes(59)).toEqual([0, 0])
    expect(hoursMinutes(60)).toEqual([0, 1])
    expect(hoursMinutes(3_599)).toEqual([0, 59])
    expect(hoursMinutes(3_600)).toEqual([1, 0])
    expect(hoursMinutes(3_600 + 5 * 60)).toEqual([1, 5])
    expect(hoursMinutes(-1)).toBeNull()
    expect(hoursMinutes(undefined)).toBeNull()
  })

  it('shows coverage in per cent with one decimal; not computed yet is null', () => {
    expect(percentText(0.375)).toBe('37.5 %')
    expect(percentText(1)).toBe('100.0 %')
    expect(percentText(1.2)).toBe('100.0 %')
    expect(percentText(0)).toBe('0.0 %')
    expect(percentText(0.12345)).toBe('12.3 %')
    expect(percentText(null)).toBeNull()
  })
})

describe('the county day', () => {
  it('is the date in Asia/Shanghai, not UTC', () => {
    // 2026-11-29 17:30 UTC is 01:30 on the 30th in the county
    expect(countyDay(Date.UTC(2026, 10, 29, 17, 30))).toBe('2026-11-30')
    expect(countyDay(Date.UTC(2026, 10, 29, 15, 59))).toBe('2026-11-29')
  })

  it('steps over month and year ends and knows real dates', () => {
    expect(addDays('2026-12-31', 1)).toBe('2027-01-01')
    expect(addDays('2028-03-01', -1)).toBe('2028-02-29')
    expect(isDay('2026-02-29')).toBe(false)
    expect(isDay('2028-02-29')).toBe(true)
    expect(isDay('2026-1-5')).toBe(false)
    expect(isDay('x')).toBe(false)
    expect(clock('2026-11-29T00:05:00Z')).toBe('08:05')
  })
})

describe('patrols on the map', () => {
  it('gives each patrol its colour, cycling after eight', () => {
    expect(new Set(PATROL_COLORS.map((_, i) => patrolColor(i))).size).toBe(8)
    expect(patrolColor(8)).toBe(patrolColor(0))
    expect(patrolColor(-1)).toBe(patrolColor(7))
  })

  it('turns a LineString into [lat, lon] pairs and leaves bad positions out', () => {
    expect(trackLatLngs({ type: 'LineString', coordinates: [[106.3, 38.1], [106.31, 38.11, 5], [Number.NaN, 38], [200, 10], ['a', 1] as unknown as number[]] })).toEqual([
      [38.1, 106.3],
      [38.11, 106.31],
    ])
    expect(trackLatLngs(null)).toEqual([])
    expect(trackLatLngs({ type: 'Point', coordinates: [106, 38] })).toEqual([])
  })

  it('finds the patrol a case or visit was made on', () => {
    const patrols = [{ uuid: 'a' }, { uuid: 'b' }]
    expect(patrolIndex(patrols, 'b')).toBe(1)
    expect(patrolIndex(patrols, null)).toBe(-1)
    expect(patrolIndex(patrols, 'z')).toBe(-1)
  })
})

describe('labels of field-work names', () => {
  it('are the server’s when /bootstrap sends them, else the name itself', () => {
    setVocabulary(null)
    expect(fieldLabel('check_in_statuses', 'pending')).toBe('pending')
    expect(fieldNames('check_in_statuses')).toEqual([])
    setVocabulary({ check_in_statuses: { pending: { zh: '待审批', en: 'Pending' }, approved: { zh: '已批准', en: 'Approved' } } } as unknown as Workflow)
    expect(fieldLabel('check_in_statuses', 'pending')).toBe('待审批')
    expect(fieldNames('check_in_statuses')).toEqual(['pending', 'approved'])
    expect(fieldLabel('check_in_statuses', null)).toBe('')
    setVocabulary(null)
  })
})

describe('photo evidence', () => {
  it('reads the capture time and the watermark flag when the server sends them', () => {
    expect(photoMeta({ url: 'x', captured_at: '2026-11-29T00:05:00Z', watermarked: false })).toEqual({ capturedAt: '2026-11-29T00:05:00Z', watermarked: false, source: null })
    expect(photoMeta({ url: 'x' })).toEqual({ capturedAt: null, watermarked: null, source: null })
    expect(photoMeta({ url: 'x', captured_at: 5, watermarked: 'no' })).toEqual({ capturedAt: null, watermarked: null, source: null })
  })

  it('flags a desk upload as such, not as a photo from an old app', () => {
    // a photo uploaded at the console was flagged 无水印 (旧版应用): no phone took it
    expect(photoMeta({ url: 'x', watermarked: false, source: 'desk' })).toEqual({ capturedAt: null, watermarked: false, source: 'desk' })
    expect(photoMeta({ url: 'x', watermarked: false, source: 'tablet' }).source).toBeNull()
    expect(noWatermarkFlag({ watermarked: false, source: 'desk' })).toEqual({ label: 'photo_desk_upload', hint: 'photo_desk_upload_hint' })
    // a phone's photo from an old app (it states nothing) keeps its flag
    expect(noWatermarkFlag({ watermarked: false, source: null })).toEqual({ label: 'photo_no_watermark', hint: 'photo_no_watermark_hint' })
    expect(noWatermarkFlag({ watermarked: false, source: 'field' })?.label).toBe('photo_no_watermark')
    expect(noWatermarkFlag({ watermarked: true, source: 'field' })).toBeNull()
    expect(noWatermarkFlag({ watermarked: null, source: 'desk' })).toBeNull()
  })

  it('the console states every photo it uploads as a desk upload', async () => {
    const server = new FakeServer()
    const client = new ApiClient({ fetch: server.fetch as typeof fetch, getCsrf: () => 'token-1' })
    const st = await uploadPhoto(new Blob([new Uint8Array(3000)]), 'scan.jpg', undefined, client)
    expect(st.status).toBe('ready')
    const begun = server.requests('POST /uploads')
    expect(begun.length).toBe(1)
    expect(begun[0]!.body).toMatchObject({ total_bytes: 3000, filename: 'scan.jpg', ...DESK_UPLOAD })
  })
})

describe('check-in status labels', () => {
  it('use the label sent with the check-in, then one sent before, else the name', async () => {
    const { statusLabels } = await import('../src/console/pages/field/api')
    const { checkInLabel } = await import('../src/console/pages/field/i18n')
    expect(checkInLabel('pending')).toBe('pending')
    expect(checkInLabel('pending', { zh: '补签待审批', en: 'Late check-in awaiting approval' })).toBe('补签待审批')
    statusLabels.pending = { zh: '补签待审批', en: 'Late check-in awaiting approval' }
    expect(checkInLabel('pending')).toBe('补签待审批')
    expect(checkInLabel(null)).toBe('')
  })
})

describe('work-log lines', () => {
  it('keep the half of the language and the data of the server’s lines', async () => {
    const { entryLine } = await import('../src/console/pages/field/format')
    const lines: Array<[string, string, string]> = [
      ['上报 / reported 20261130000088 暴露垃圾', '上报 20261130000088 暴露垃圾', 'reported 20261130000088 暴露垃圾'],
      ['结束巡查 / patrol ended: 2.0 km, 40 min', '结束巡查 2.0 km, 40 min', 'patrol ended: 2.0 km, 40 min'],
      ['签到 04:49 迟到 / late', '签到 04:49 迟到', '签到 04:49 late'],
      ['签到 04:49', '签到 04:49', '签到 04:49'],
      ['走访 / visit · 发现问题并上报 / raised a case', '走访 · 发现问题并上报', 'visit · raised a case'],
      ['核查 / verified 20261130000088 未通过 / not passed', '核查 20261130000088 未通过', 'verified 20261130000088 not passed'],
      ['补签 / late check-in (待审批 / pending)', '补签 (待审批)', 'late check-in (pending)'],
      ['开始巡查 / patrol started', '开始巡查', 'patrol started'],
    ]
    for (const [text, zh, en] of lines) {
      expect(entryLine(text, 'zh')).toBe(zh)
      expect(entryLine(text, 'en')).toBe(en)
    }
  })
})
