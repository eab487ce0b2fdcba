import { describe, expect, it } from 'vitest'
import { formatDeadline, formatDeadlineMoment, formatHoursLeft, hoursUnit, WORK_HOURS_LEGEND } from '@/shared/deadline'
import { locale } from '@/console/i18n'
import { timeLeftText } from '@/console/i18n'

// Sunday 29 Nov 2026, 10:00 in Asia/Shanghai
const NOW = new Date('2026-11-29T02:00:00Z')

describe('deadlines, the same in both apps (issue 14 item 2)', () => {
  it('says the moment by the calendar of Asia/Shanghai', () => {
    expect(formatDeadlineMoment('2026-11-29T09:00:00Z', NOW)).toBe('今天 17:00 前')
    expect(formatDeadlineMoment('2026-11-30T06:30:00Z', NOW)).toBe('明天 14:30 前')
    expect(formatDeadlineMoment('2026-12-01T01:00:00Z', NOW)).toBe('后天 09:00 前')
    expect(formatDeadlineMoment('2026-12-03T06:30:00Z', NOW)).toBe('12-03 14:30 前')
    expect(formatDeadlineMoment('2027-01-04T06:30:00Z', NOW)).toBe('2027-01-04 14:30 前')
    // 23:30 UTC is the next day in Shanghai
    expect(formatDeadlineMoment('2026-11-29T23:30:00Z', NOW)).toBe('明天 07:30 前')
    expect(formatDeadlineMoment('2026-11-28T09:00:00Z', NOW)).toBe('昨天 17:00 到期')
    expect(formatDeadlineMoment('2026-11-29T01:00:00Z', NOW)).toBe('今天 09:00 到期')
    expect(formatDeadlineMoment(null, NOW)).toBe('')
  })

  it('says working time for a normal case (工时) and natural hours for an urgent one (小时)', () => {
    expect(formatHoursLeft(4, false)).toBe('剩余 4 工时')
    expect(formatHoursLeft(5.5, false)).toBe('剩余 5.5 工时')
    expect(formatHoursLeft(-2, false)).toBe('超期 2 工时')
    expect(formatHoursLeft(3, true)).toBe('剩余 3 小时')
    expect(formatHoursLeft(123.4, false)).toBe('剩余 123 工时')
    expect(formatHoursLeft(null)).toBe('')
    expect(hoursUnit(false)).toBe('工时')
    expect(hoursUnit(true)).toBe('小时')
    expect(WORK_HOURS_LEGEND.zh).toContain('工时')
  })

  it('puts both together: the handler on the phone and the console see the same words', () => {
    const c = { deadline_at: '2026-11-30T06:30:00Z', time_left_hours: 4, urgency: 'normal' }
    expect(formatDeadline(c, NOW)).toBe('明天 14:30 前 · 剩余 4 工时')
    expect(formatDeadline({ ...c, urgency: 'urgent', time_left_hours: 28.5 }, NOW)).toBe('明天 14:30 前 · 剩余 28.5 小时')
    expect(formatDeadline({ deadline_at: '2026-11-28T09:00:00Z', time_left_hours: -2 }, NOW)).toBe('昨天 17:00 到期 · 超期 2 工时')
    expect(formatDeadline({ deadline_at: null, time_left_hours: null })).toBe('')
    expect(formatDeadline(c, NOW, 'en')).toBe('by 14:30 tomorrow · 4 work h left')
  })

  it('the console says it through the same formatter', () => {
    locale.value = 'zh'
    expect(timeLeftText(4)).toBe(formatHoursLeft(4, false))
    expect(timeLeftText(-2, true)).toBe('超期 2 小时')
  })
})
