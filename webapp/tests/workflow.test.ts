/**
 * The labels and the actions the apps show come from the server: a bootstrap whose vocabulary
 * carries a changed label is what both apps render, and the field app offers exactly the
 * `allowed_actions` the server sent with the case (then its `allowed_next` after queued actions).
 */
import { createSSRApp, h } from 'vue'
import { renderToString } from 'vue/server-renderer'
import { createMemoryHistory, createRouter } from 'vue-router'
import { afterEach, describe, expect, it } from 'vitest'
import { fieldActions, projectedState, stillAllowed } from '@/app/workflow'
import CaseCard from '@/app/components/CaseCard.vue'
import StateBadge from '@/console/components/StateBadge.vue'
import { actionLabel, locale, ratingLabel, roleLabel, sourceLabel, stateLabel } from '@/console/i18n'
import { label, setVocabulary } from '@/shared/i18n'
import type { OutboxItem } from '@/app/db'
import type { CaseSummary, RuleRow, Workflow } from '@/shared/types'
import { ACTIONS, Action, RATINGS, ROLES, SOURCES, STATES, State, URGENCIES } from '@/shared/vocabulary'

function labels(names: readonly string[]): Record<string, { zh: string; en: string }> {
  return Object.fromEntries(names.map((n) => [n, { zh: `zh:${n}`, en: `en:${n}` }]))
}

function rule(action: string, to_state: string | null, extra: Partial<RuleRow> = {}): RuleRow {
  return {
    action, label_zh: '', label_en: '', roles: [], from_states: [], to_state, requires: [], optional: [],
    decision: null, fail_to_state: null, requires_on_fail: [], restores_previous: false, ...extra,
  } as RuleRow
}

/** What /bootstrap sends as `workflow`, with one label changed on the "server". */
const workflow = {
  states: { ...labels(STATES), closed: { zh: '办结（改）', en: 'Done (changed)' } },
  actions: { ...labels(ACTIONS), comment: { zh: '批注（改）', en: 'Annotate (changed)' } },
  roles: labels(ROLES),
  ratings: labels(RATINGS),
  urgencies: labels(URGENCIES),
  sources: labels(SOURCES),
  open_states: [],
  rules: [
    rule(Action.SIGN, State.IN_PROGRESS),
    rule(Action.VERIFY, State.CLOSED, { decision: 'passed', fail_to_state: State.DISPATCHED }),
  ],
} as unknown as Workflow

const base: CaseSummary = {
  id: 9, uuid: 'u', number: 'N9', state: 'closed', version: 4, category: null, description: '', lon: null, lat: null,
  grid: null, reporter: { id: 1, display_name: 'w' }, created_at: '', updated_at: '',
  allowed_actions: [Action.COMMENT], allowed_next: {},
}
const queued = (action: string, payload: Record<string, unknown> = {}): OutboxItem =>
  ({ id: action, kind: 'action', action, caseId: 9, payload, state: 'waiting' }) as unknown as OutboxItem

afterEach(() => {
  setVocabulary(null)
  locale.value = 'zh'
})

describe('labels come from the server', () => {
  it('a label changed in the bootstrap is what both apps render', async () => {
    setVocabulary(workflow)
    expect(label('states', 'closed')).toBe('办结（改）')
    expect(stateLabel('closed')).toBe('办结（改）')
    expect(actionLabel('comment')).toBe('批注（改）')
    expect(roleLabel('handler')).toBe('zh:handler')
    expect(ratingLabel('unsatisfied')).toBe('zh:unsatisfied')
    expect(sourceLabel('hotline')).toBe('zh:hotline')
    locale.value = 'en'
    expect(stateLabel('closed')).toBe('Done (changed)')

    locale.value = 'zh'
    const badge = await renderToString(createSSRApp({ render: () => h(StateBadge, { state: 'closed' }) }))
    expect(badge).toContain('办结（改）')

    const router = createRouter({ history: createMemoryHistory(), routes: [{ path: '/:p(.*)*', component: { render: () => null } }] })
    const card = createSSRApp({ render: () => h(CaseCard, { c: base }) })
    card.use(router)
    await router.push('/')
    expect(await renderToString(card)).toContain('办结（改）')
  })

  it('without a bootstrap the name is shown, never a label typed in the app', () => {
    expect(label('states', 'closed')).toBe('closed')
    expect(stateLabel('closed')).toBe('closed')
  })
})

describe('the field app offers what the server allows', () => {
  const rules = workflow.rules as RuleRow[]

  it('exactly allowed_actions: no 核查 on a case with no grid when the server refuses it', () => {
    const resolved = { ...base, state: 'resolved' as const, allowed_actions: [Action.COMMENT] }
    expect(fieldActions(rules, resolved, [])).toEqual([Action.COMMENT])
    const mine = { ...resolved, allowed_actions: [Action.VERIFY, Action.COMMENT] }
    expect(fieldActions(rules, mine, [])).toEqual([Action.VERIFY, Action.COMMENT])
    expect(fieldActions(rules, mine, [queued(Action.VERIFY, { passed: true })])).toEqual([])
  })

  it('a handler can resolve after a sign queued offline (allowed_next)', () => {
    const c: CaseSummary = {
      ...base,
      state: 'dispatched',
      allowed_actions: [Action.SIGN, Action.RETURN, Action.RESOLVE, Action.REQUEST_EXTENSION, Action.COMMENT],
      allowed_next: {
        in_progress: [Action.RETURN, Action.RESOLVE, Action.REQUEST_EXTENSION, Action.COMMENT],
        accepted: [Action.COMMENT],
        resolved: [Action.COMMENT],
      },
    }
    expect(fieldActions(rules, c, [])).toEqual(c.allowed_actions)
    const q = [queued(Action.SIGN)]
    expect(projectedState(rules, c, q)).toBe('in_progress')
    expect(fieldActions(rules, c, q)).toEqual([Action.RETURN, Action.RESOLVE, Action.REQUEST_EXTENSION, Action.COMMENT])
    expect(fieldActions(rules, { ...c, state: 'in_progress', allowed_actions: c.allowed_next!.in_progress }, [queued(Action.RESOLVE)])).toEqual([
      Action.REQUEST_EXTENSION,
      Action.COMMENT,
    ])
  })

  it('a failed verify projects rework', () => {
    const c = { ...base, state: 'resolved' as const }
    expect(projectedState(rules, c, [queued(Action.VERIFY, { passed: false })])).toBe('dispatched')
    expect(projectedState(rules, c, [queued(Action.VERIFY, { passed: true })])).toBe('closed')
  })

  it('a conflicted action is redone only if the case as it is now allows it', () => {
    expect(stillAllowed({ ...base, allowed_actions: [Action.RATE] }, Action.RATE)).toBe(true)
    expect(stillAllowed(base, Action.RATE)).toBe(false)
  })
})
