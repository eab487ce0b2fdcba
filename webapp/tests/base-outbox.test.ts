/**
 * Base-data items in the outbox (issue 16): a new person and a visit (with a photo and a case
 * raised from it) arrive exactly once whatever the network does; an edit carries the record's
 * base_version, a second edit follows the first, and an edit made meanwhile elsewhere comes back
 * as a conflict the worker settles — never a silent overwrite.
 */
import { IDBFactory } from 'fake-indexeddb'
import { beforeEach, describe, expect, it } from 'vitest'
import { ApiClient } from '@/shared/api'
import { openFieldDB, type AppDB } from '@/app/db'
import { Outbox, patchApplied, type NewItem } from '@/app/outbox'
import { idCheckChar, idNumberFacts, idNumberProblem } from '@/shared/base'
import { FakeServer } from './fake-server'

let server: FakeServer
let db: AppDB
let outbox: Outbox

beforeEach(async () => {
  globalThis.indexedDB = new IDBFactory()
  server = new FakeServer()
  db = await openFieldDB()
  const api = new ApiClient({ fetch: server.fetch as typeof fetch, getCsrf: () => 'token-1' })
  outbox = new Outbox({ db, api, userId: () => 7, random: () => 0.5, pieceBytes: () => 1000, lock: (fn) => fn() })
})

function edit(id: string, residentId: number, version: number, changes: Record<string, unknown>, after?: string): NewItem {
  return {
    id,
    kind: 'base',
    request: { method: 'PATCH', path: `/base/residents/${residentId}` },
    recordKey: `resident:${residentId}`,
    after,
    label: `修改人员 ${id}`,
    payload: { base_version: version, ...changes },
  }
}

const ID = '11010520190312' + '002'
const NEWBORN_ID = ID + idCheckChar(ID)

describe('base items: creates and visits', () => {
  it('a new person arrives once though the first answer is lost; the clear id number leaves the phone once sent', async () => {
    server.fail('POST /base/residents', { kind: 'lost' })
    await outbox.add({
      id: 'p-1',
      kind: 'base',
      request: { method: 'POST', path: '/base/residents' },
      recordKey: 'household:5',
      label: '新增人员',
      payload: { name: '王小宝', id_number: NEWBORN_ID, household_id: 5, relation: 'child' },
    })
    let r = await outbox.sync({ force: true })
    expect(r.offline).toBe(true)
    r = await outbox.sync({ force: true })
    expect(r.sent).toBe(1)
    expect(server.residents).toHaveLength(1)
    expect(server.requests('POST /base/residents')).toHaveLength(2)
    const item = await outbox.get('p-1')
    expect(item?.state).toBe('sent')
    expect(item?.baseResult?.id).toBe(server.residents[0]!.id)
    expect(item?.baseResult?.replay).toBe(true)
    expect(item?.payload.id_number).toBe('1101**********' + NEWBORN_ID.slice(-4))
    expect((server.requests('POST /base/residents')[0]!.body as { uuid: string }).uuid).toBe('p-1')
  })

  it('a visit uploads its photo first, then raises its case with the visit, once', async () => {
    const data = new Uint8Array(2500).fill(7).buffer
    server.fail('POST /base/visits', { kind: 'status', status: 503 })
    await outbox.add({
      id: 'v-1',
      kind: 'base',
      request: { method: 'POST', path: '/base/visits' },
      label: '走访',
      payload: { resident_id: 3, note: '老人身体好', raise_case: { uuid: 'c-1', category_id: 1, description: '楼道堆物' } },
      photos: [{ uuid: 'ph-1', data, type: 'image/jpeg', name: 'a.jpg' }],
    })
    expect((await outbox.sync({ force: true })).retrying).toBe(1)
    expect((await outbox.sync({ force: true })).sent).toBe(1)
    expect(server.visits).toHaveLength(1)
    expect(server.cases).toHaveLength(1)
    const posted = server.requests('POST /base/visits').at(-1)!.body as { photos: string[] }
    expect(posted.photos).toEqual(['ph-1'])
    const item = await outbox.get('v-1')
    expect(item?.baseResult?.caseId).toBe(server.cases[0]!.id)
    expect(await outbox.photo('ph-1')).toBeUndefined()
  })
})

describe('base items: edits and conflicts', () => {
  beforeEach(() => {
    server.residents.push({ id: 12, uuid: 'r-12', name: '张三', phone: '139****0000', relation: 'head', version: 4 })
  })

  it('a second edit of mine follows the first with the version the server gave it', async () => {
    await outbox.add(edit('e-1', 12, 4, { name: '张叁' }))
    await outbox.add(edit('e-2', 12, 4, { relation: 'spouse' }, 'e-1'))
    const r = await outbox.sync({ force: true })
    expect(r.sent).toBe(2)
    expect(server.patches.map((p) => p.base_version)).toEqual([4, 5])
    expect(server.residents[0]).toMatchObject({ name: '张叁', relation: 'spouse', version: 6 })
  })

  it('an edit made meanwhile elsewhere is a conflict: nothing is overwritten; keep mine sends it on the new version', async () => {
    server.residents[0]!.version = 5
    server.residents[0]!.name = '张山'
    await outbox.add(edit('e-1', 12, 4, { name: '张叁' }))
    await outbox.add(edit('e-2', 12, 4, { phone: '13800001111' }, 'e-1'))
    const r = await outbox.sync({ force: true })
    expect(r.conflicts).toBe(1)
    expect(server.patches).toHaveLength(0)
    const item = await outbox.get('e-1')
    expect(item?.state).toBe('conflict')
    expect(item?.conflict?.current).toMatchObject({ name: '张山', version: 5 })
    // the later edit on the same person waits behind the conflict
    expect((await outbox.get('e-2'))?.state).toBe('waiting')
    await outbox.fix('e-1', { payload: { base_version: 5 } })
    expect((await outbox.sync({ force: true })).sent).toBe(2)
    expect(server.residents[0]).toMatchObject({ name: '张叁', phone: '138****1111', version: 7 })
  })

  it('an edit whose answer was lost is not a conflict with itself when sent again', async () => {
    server.fail('PATCH /base/residents/12', { kind: 'lost' })
    await outbox.add(edit('e-1', 12, 4, { name: '张叁', phone: '13800001111' }))
    expect((await outbox.sync({ force: true })).offline).toBe(true)
    const r = await outbox.sync({ force: true })
    expect(r.sent).toBe(1)
    expect(r.conflicts).toBe(0)
    expect(server.patches).toHaveLength(1)
    expect((await outbox.get('e-1'))?.baseResult?.version).toBe(5)
  })

  it('take theirs: the worker discards the item, nothing is sent', async () => {
    server.residents[0]!.version = 9
    await outbox.add(edit('e-1', 12, 4, { name: '张叁' }))
    await outbox.sync({ force: true })
    await outbox.discard('e-1')
    expect(await outbox.list()).toHaveLength(0)
    expect(server.residents[0]!.name).toBe('张三')
  })
})

describe('identity numbers (GB 11643)', () => {
  it('checks the check character and the birth date, and reads birth and sex', () => {
    expect(idNumberProblem(NEWBORN_ID, new Date('2026-01-01'))).toBe('')
    const wrong = NEWBORN_ID.slice(0, 17) + (NEWBORN_ID[17] === '1' ? '2' : '1')
    expect(idNumberProblem(wrong)).toContain('校验位')
    expect(idNumberProblem('123')).toContain('18 位')
    expect(idNumberProblem('110105201902300021')).toContain('出生日期')
    expect(idNumberFacts(NEWBORN_ID)).toEqual({ birth: '2019-03-12', sex: 'female' })
  })

  it('patchApplied compares masked fields masked', () => {
    expect(patchApplied({ base_version: 1, phone: '13800001111' }, { phone: '138****1111' })).toBe(true)
    expect(patchApplied({ base_version: 1, name: 'a' }, { name: 'b' })).toBe(false)
    expect(patchApplied({ base_version: 1 }, {})).toBe(false)
  })
})
