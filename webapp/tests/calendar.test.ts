import { describe, expect, it } from 'vitest'
import { parseLines, toLines, type CalendarYear } from '../src/console/pages/calendar/api'

describe('calendar lines', () => {
  it('reads date,kind,name lines, with or without a header, and names bad lines', () => {
    const r = parseLines('date,kind,name\n2027-02-06,holiday,春节\n\n2027-02-20,workday,春节调休\n2027-2-1,holiday,x\n2027-02-07,vacation,y')
    expect(r.holidays).toEqual([{ date: '2027-02-06', name: '春节' }])
    expect(r.workdays).toEqual([{ date: '2027-02-20', name: '春节调休' }])
    expect(r.bad).toEqual([5, 6])
  })

  it('keeps commas in a name and accepts full-width commas', () => {
    const r = parseLines('2027-10-01，holiday，国庆节, 中秋节')
    expect(r.holidays).toEqual([{ date: '2027-10-01', name: '国庆节, 中秋节' }])
  })

  it('writes a year back as lines sorted by date', () => {
    const y: CalendarYear = {
      year: 2027, source: 'database', known: true, updated_at: null, updated_by: null,
      holidays: [{ date: '2027-02-06', name: '春节' }],
      workdays: [{ date: '2027-01-31', name: '调休' }],
    }
    expect(toLines(y)).toBe('date,kind,name\n2027-01-31,workday,调休\n2027-02-06,holiday,春节')
    expect(parseLines(toLines(y)).holidays).toEqual(y.holidays)
  })
})
