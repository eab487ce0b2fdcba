import { describe, expect, it } from 'vitest'
import { FALLBACK_RULES, fieldActions, projectedState } from '@/app/workflow'
import type { OutboxItem } from '@/app/db'
import type { CaseSummary, User } from '@/shared/types'

const worker: User = { id: 1, username: 'w', display_name: 'w', role: 'grid_worker', region_id: 1, department_id: null, grid_codes: ['G1'] }
const handler: User = { ...worker, id: 2, role: 'handler', grid_codes: [], department_id: 3 }
const base: CaseSummary = {
  id: 9, uuid: 'u', number: 'n', state: 'resolved', version: 4, category: null, description: '', lon: null, lat: null,
  grid: { id: 1, code: 'G1', name: 'g' }, reporter: { id: 1, display_name: 'w' }, created_at: '', updated_at: '',
}
const queued = (action: string, payload: Record<string, unknown> = {}): OutboxItem =>
  ({ id: action, kind: 'action', action, caseId: 9, payload, state: 'waiting' }) as unknown as OutboxItem

describe('field actions', () => {
  it('a grid worker verifies resolved cases in their grids only', () => {
    expect(fieldActions(FALLBACK_RULES, worker, base, [])).toEqual(['verify', 'comment'])
    expect(fieldActions(FALLBACK_RULES, worker, { ...base, grid: { id: 2, code: 'G2', name: 'x' } }, [])).toEqual(['comment'])
  })
  it('rating: my closed case, once', () => {
    expect(fieldActions(FALLBACK_RULES, worker, { ...base, state: 'closed' }, [])).toEqual(['rate', 'comment'])
    expect(fieldActions(FALLBACK_RULES, worker, { ...base, state: 'closed', last_rating: 'satisfied' }, [])).toEqual(['comment'])
  })
  it('a handler can resolve after a sign queued offline', () => {
    const c = { ...base, state: 'dispatched' as const }
    expect(fieldActions(FALLBACK_RULES, handler, c, [])).toEqual(['sign', 'resolve', 'return', 'request_extension', 'comment'])
    const q = [queued('sign')]
    expect(projectedState(FALLBACK_RULES, c, q)).toBe('in_progress')
    expect(fieldActions(FALLBACK_RULES, handler, c, q)).toEqual(['resolve', 'return', 'request_extension', 'comment'])
  })
  it('a failed verify projects rework', () => {
    expect(projectedState(FALLBACK_RULES, base, [queued('verify', { passed: false })])).toBe('dispatched')
    expect(projectedState(FALLBACK_RULES, base, [queued('verify', { passed: true })])).toBe('closed')
  })
})
