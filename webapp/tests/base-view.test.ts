/**
 * What the 走访 screens show (app/base.ts): the phone's copy with my unsent changes on top — an
 * edit applied (masked), a person I added, a visit queued offline counted as done — and a
 * conflict attached to the person it is about.
 */
import { beforeEach, describe, expect, it } from 'vitest'
import type { Bundle, Resident } from '@/shared/base'
import type { OutboxItem } from '@/app/db'
import { base, buildings, dueCounts, membersOf, placePath } from '@/app/base'
import { state } from '@/app/store'

function person(id: number, name: string, relation: Resident['relation'], version = 3): Resident {
  return {
    id, uuid: `r${id}`, name, id_number: '6401**********1234', sex: 'male', birth_year: 1950, phone: '139****0000',
    registration: 'registered', relation, household_id: 10, status: 'active', version, tags: [],
  }
}

function item(id: string, seq: number, extra: Partial<OutboxItem>): OutboxItem {
  return {
    id, seq, userId: 7, kind: 'base', label: id, payload: {}, photos: [], state: 'waiting', attempts: 0, nextAt: 0,
    createdAt: 0, updatedAt: 0, ...extra,
  }
}

beforeEach(() => {
  state.session = { user: { id: 7 } as never, csrf: null, signedInAt: 0 }
  const bundle: Bundle = {
    generated_at: '',
    grids: [],
    places: [
      { id: 1, uuid: 'p1', kind: 'estate', parent_id: null, name: '幸福小区', address: null, lon: null, lat: null, grid_code: 'g', version: 1 },
      { id: 2, uuid: 'p2', kind: 'building', parent_id: 1, name: '12号楼', address: null, lon: null, lat: null, grid_code: 'g', version: 1 },
      { id: 3, uuid: 'p3', kind: 'unit', parent_id: 2, name: '1单元', address: null, lon: null, lat: null, grid_code: 'g', version: 1 },
      { id: 4, uuid: 'p4', kind: 'room', parent_id: 3, name: '301', address: null, lon: null, lat: null, grid_code: 'g', version: 1 },
    ],
    households: [{ id: 10, uuid: 'h', place_id: 4, number: null, head_id: null, note: null, grid_code: 'g', version: 1 }],
    residents: [person(20, '陈桂芳', 'spouse'), person(21, '刘建国', 'head')],
    due: {
      counts: { due: 2, done: 0, overdue: 1 },
      items: [
        { tag_id: 1, resident_id: 21, resident_name: '刘建国', household_id: 10, kind_code: 'x', kind_name: '独居老人', level: 1,
          cycle: 'weekly', last_visit_at: null, due_on: '2026-11-25', status: 'overdue' },
        { tag_id: 2, resident_id: 20, resident_name: '陈桂芳', household_id: 10, kind_code: 'x', kind_name: '独居老人', level: 1,
          cycle: 'weekly', last_visit_at: null, due_on: '2026-12-01', status: 'due' },
      ],
    },
    kinds: [],
  }
  base.bundle = bundle
  base.fetchedAt = 1000
  state.outbox = []
})

describe('the 走访 screens', () => {
  it('walks a room up to its estate and groups households by building', () => {
    expect(placePath(4)).toBe('幸福小区 12号楼 1单元 301室')
    expect(buildings().map((g) => [g.path, g.households.length])).toEqual([['幸福小区 12号楼', 1]])
  })

  it('shows my unsent edit (masked phone), the person I added, head first', () => {
    state.outbox = [
      item('e1', 1, { request: { method: 'PATCH', path: '/base/residents/21' }, recordKey: 'resident:21', payload: { base_version: 3, name: '刘建国改', phone: '13912345678' } }),
      item('n1', 2, { request: { method: 'POST', path: '/base/residents' }, payload: { name: '刘小宝', id_number: '110105202603010026', household_id: 10, relation: 'child' } }),
    ]
    const m = membersOf(10)
    expect(m.map((r) => [r.name, r.pending])).toEqual([['刘建国改', true], ['陈桂芳', false], ['刘小宝', true]])
    expect(m[0]!.phone).toBe('139****5678')
    expect(m[2]).toMatchObject({ provisional: true, birth_date: '2026-03-01', sex: 'female', id_number: '1101**********0026' })
  })

  it('a conflict is attached to its person; a sent edit newer than the copy shows the server answer', () => {
    state.outbox = [
      item('e1', 1, { state: 'conflict', recordKey: 'resident:21', request: { method: 'PATCH', path: '/base/residents/21' }, payload: { base_version: 3, name: 'x' }, conflict: { code: 'version_conflict', message: '', case: null, current: { version: 4 } } }),
      item('e2', 2, { state: 'sent', sentAt: 2000, recordKey: 'resident:20', request: { method: 'PATCH', path: '/base/residents/20' }, payload: { base_version: 3, name: 'y' }, baseResult: { replay: false, version: 4, record: { ...person(20, '陈桂芳改', 'spouse', 4) } } }),
    ]
    const m = membersOf(10)
    expect(m[0]!.conflict?.id).toBe('e1')
    expect(m[1]).toMatchObject({ name: '陈桂芳改', version: 4, pending: false })
  })

  it('本周应访 counts every visit of the week; a visit queued offline is done at once', () => {
    expect(dueCounts.value).toEqual({ due: 2, done: 0, overdue: 1 })
    state.outbox = [item('v1', 1, { request: { method: 'POST', path: '/base/visits' }, payload: { resident_id: 21, note: 'ok' } })]
    expect(dueCounts.value).toEqual({ due: 2, done: 1, overdue: 0 })
  })
})
