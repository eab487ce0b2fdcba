/**
 * Which actions the field app offers on a case, from the workflow table the server sends in
 * /bootstrap (so it works offline), narrowed to what a phone does and to the facts the table
 * cannot see (my grid, my report, a pending extension).
 */
import type { CaseSummary, User } from '@/shared/types'
import type { OutboxItem } from './db'

export interface RuleRow {
  action: string
  roles: string[]
  from_states: string[] | null
  to_state: string | null
  requires: string[]
  optional?: string[]
  decision?: string | null
  fail_to_state?: string | null
  requires_on_fail?: string[]
}

export const FIELD_ACTIONS: Record<string, string[]> = {
  grid_worker: ['verify', 'rate', 'comment'],
  handler: ['sign', 'resolve', 'return', 'request_extension', 'comment'],
}

/** Used when the server's table is not cached yet (same content as server/domain/workflow.py). */
export const FALLBACK_RULES: RuleRow[] = [
  { action: 'sign', roles: ['handler'], from_states: ['dispatched'], to_state: 'in_progress', requires: [] },
  { action: 'return', roles: ['handler'], from_states: ['dispatched', 'in_progress'], to_state: 'accepted', requires: ['reason'] },
  { action: 'resolve', roles: ['handler'], from_states: ['dispatched', 'in_progress'], to_state: 'resolved', requires: ['note', 'photos'] },
  {
    action: 'verify',
    roles: ['grid_worker', 'dispatcher'],
    from_states: ['resolved'],
    to_state: 'closed',
    requires: ['passed'],
    decision: 'passed',
    fail_to_state: 'dispatched',
    requires_on_fail: ['reason'],
  },
  { action: 'request_extension', roles: ['handler'], from_states: ['dispatched', 'in_progress'], to_state: null, requires: ['duration', 'reason'] },
  { action: 'rate', roles: ['grid_worker', 'dispatcher'], from_states: ['closed'], to_state: null, requires: ['rating'] },
  {
    action: 'comment',
    roles: ['grid_worker', 'dispatcher', 'handler', 'supervisor', 'admin'],
    from_states: ['reported', 'accepted', 'dispatched', 'in_progress', 'resolved', 'closed', 'rejected', 'suspended'],
    to_state: null,
    requires: ['note'],
  },
]

export function rulesFrom(rules: unknown[] | undefined | null): RuleRow[] {
  const ok = (rules ?? []).filter((r): r is RuleRow => !!r && typeof r === 'object' && typeof (r as RuleRow).action === 'string')
  return ok.length ? ok : FALLBACK_RULES
}

export function ruleFor(rules: RuleRow[], action: string): RuleRow | undefined {
  return rules.find((r) => r.action === action)
}

/** The state the case will be in once the queued actions are sent (if they succeed). */
export function projectedState(rules: RuleRow[], c: CaseSummary, queued: OutboxItem[]): string {
  let s: string = c.state
  for (const item of queued) {
    if (item.kind !== 'action' || !item.action) continue
    const r = ruleFor(rules, item.action)
    if (!r) continue
    if (r.decision && (item.payload as Record<string, unknown>)[r.decision] === false && r.fail_to_state) s = r.fail_to_state
    else if (r.to_state) s = r.to_state
  }
  return s
}

export function canDo(rules: RuleRow[], action: string, role: string, state: string): boolean {
  const r = ruleFor(rules, action)
  return !!r && r.roles.includes(role) && (r.from_states === null ? false : r.from_states.includes(state))
}

/** The actions to offer on `c` for `me`, given what is already queued on it. */
export function fieldActions(rules: RuleRow[], me: User, c: CaseSummary, queued: OutboxItem[]): string[] {
  const state = projectedState(rules, c, queued)
  const queuedActions = new Set(queued.filter((i) => i.state !== 'sent').map((i) => i.action))
  return (FIELD_ACTIONS[me.role] ?? []).filter((a) => {
    if (!canDo(rules, a, me.role, state)) return false
    if (a === 'verify') return !queuedActions.has('verify') && (!c.grid || me.grid_codes.includes(c.grid.code))
    if (a === 'rate') return c.reporter?.id === me.id && !c.last_rating && !queuedActions.has('rate')
    if (a === 'request_extension') return !c.pending_extension && !queuedActions.has('request_extension')
    if (a === 'sign') return !queuedActions.has('sign')
    if (a === 'resolve' || a === 'return') return !queuedActions.has('resolve') && !queuedActions.has('return')
    return true
  })
}
