/**
 * The project's reason rule, for the phone to check before a reason waits offline in the outbox:
 * a stated reason (a 补签, reading or changing a person's data) has at least two letters, digits
 * or CJK characters that show — punctuation, symbols, spaces, zero-width and filler characters
 * do not count. The server's rule is `server.domain.fields.is_stated_reason`; both are checked
 * against the same examples (tests/fixtures/stated_reasons.json).
 */

export const STATED_REASON_MIN = 2
/** Letters that show nothing (Hangul fillers, the blank Braille pattern). */
const BLANK_LETTERS = new Set(['\u115f', '\u1160', '\u3164', '\uffa0', '\u2800'])
const WORD = /^[\p{L}\p{N}]$/u

export function statedCount(value: string): number {
  let n = 0
  for (const ch of value) if (WORD.test(ch) && !BLANK_LETTERS.has(ch)) n++
  return n
}

export function isStatedReason(value: string): boolean {
  return statedCount(value) >= STATED_REASON_MIN
}
