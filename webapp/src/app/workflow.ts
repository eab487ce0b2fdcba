/**
 * Which actions the field app offers on a case: exactly the server's `allowed_actions` for it
 * (server/usecases/policy.py, the check the action endpoint makes), the last ones the phone got
 * when offline. Actions queued in the outbox move the case on: the state they lead to is projected
 * with the workflow table of /bootstrap, and the server's `allowed_next` for that state is offered.
 * An action already queued on the case is not offered again (the outbox sends it).
 */
import type { ActionName, CaseState, CaseSummary, RuleRow } from '@/shared/types'
import { Action } from '@/shared/vocabulary'
import type { OutboxItem } from './db'

export function rulesFrom(rules: readonly unknown[] | undefined | null): RuleRow[] {
  return (rules ?? []).filter((r): r is RuleRow => !!r && typeof r === 'object' && typeof (r as RuleRow).action === 'string')
}

export function ruleFor(rules: RuleRow[], action: string): RuleRow | undefined {
  return rules.find((r) => r.action === action)
}

/** The state the case will be in once the queued actions are sent (if they succeed). */
export function projectedState(rules: RuleRow[], c: CaseSummary, queued: OutboxItem[]): CaseState {
  let s: CaseState = c.state
  for (const item of queued) {
    if (item.kind !== 'action' || !item.action) continue
    const r = ruleFor(rules, item.action)
    if (!r) continue
    if (r.decision && (item.payload as Record<string, unknown>)[r.decision] === false && r.fail_to_state) s = r.fail_to_state
    else if (r.to_state) s = r.to_state
  }
  return s
}

/** Mutually exclusive: once one is queued, none of its group is offered. */
const EXCLUSIVE: ActionName[][] = [[Action.RESOLVE, Action.RETURN]]

/** The actions to offer on `c`, given what is already queued on it. */
export function fieldActions(rules: RuleRow[], c: CaseSummary, queued: OutboxItem[]): ActionName[] {
  const state = projectedState(rules, c, queued)
  const offered = state === c.state ? (c.allowed_actions ?? []) : (c.allowed_next?.[state] ?? [])
  const waiting = new Set(queued.filter((i) => i.state !== 'sent').map((i) => i.action))
  const blocked = (a: ActionName): boolean =>
    a !== Action.COMMENT && (waiting.has(a) || EXCLUSIVE.some((group) => group.includes(a) && group.some((b) => waiting.has(b))))
  return offered.filter((a) => !blocked(a))
}

/** May `action` be redone on the case as the server last sent it (after a conflict)? */
export function stillAllowed(c: CaseSummary, action: string): boolean {
  return (c.allowed_actions ?? []).some((a) => a === action)
}
