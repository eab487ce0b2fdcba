import { describe, expect, it } from 'vitest'
import { locale, t, timeLeftText } from '@/console/i18n'
import { fieldText } from '@/console/util'

describe('console i18n', () => {
  it('speaks Chinese first and English on request', () => {
    locale.value = 'zh'
    expect(t('nav_queue')).toBe('案件队列')
    locale.value = 'en'
    expect(t('nav_queue')).toBe('Queue')
    expect(t('no_such_key')).toBe('no_such_key')
    locale.value = 'zh'
  })

  it('shows working time left and lateness', () => {
    locale.value = 'zh'
    expect(timeLeftText(5.5)).toBe('剩余 5.5 工时')
    expect(timeLeftText(-2)).toBe('超期 2 工时')
    expect(timeLeftText(-2, true)).toBe('超期 2 小时')
    expect(timeLeftText(null)).toBe('')
  })

  it('puts a server field problem in the UI language', () => {
    expect(fieldText('原因必填 / reason required', true)).toBe('原因必填')
    expect(fieldText('原因必填 / reason required', false)).toBe('reason required')
    expect(fieldText('required', true)).toBe('必填')
    expect(fieldText(undefined, true)).toBe('')
  })
})
