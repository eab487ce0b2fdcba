import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { isStatedReason } from '@/shared/reason'
import { reasonProblem } from '@/app/checkin'

// The same examples the server's rule is tested with (tests/domain/test_reason_rule.py).
const fixture = JSON.parse(
  readFileSync(fileURLToPath(new URL('../../tests/fixtures/stated_reasons.json', import.meta.url)), 'utf8'),
) as { cases: [string, boolean][] }

describe('the reason rule, as the server has it', () => {
  it.each(fixture.cases)('%j states a reason: %s', (value, stated) => {
    expect(isStatedReason(value)).toBe(stated)
    expect(reasonProblem(value) === null).toBe(stated)
  })
})
