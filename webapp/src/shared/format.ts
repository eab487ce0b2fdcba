/** Display helpers: times in Asia/Shanghai, state and action labels in Chinese. */
import type { CaseState } from './types'

export const STATE_ZH: Record<CaseState, string> = {
  reported: '待受理',
  accepted: '待派遣',
  dispatched: '待签收',
  in_progress: '处置中',
  resolved: '待核查',
  closed: '已结案',
  rejected: '不予立案',
  suspended: '挂账',
}

export const ACTION_ZH: Record<string, string> = {
  report: '上报',
  self_handle: '自行处置',
  accept: '立案',
  reject: '不予立案',
  dispatch: '派遣',
  sign: '签收',
  return: '退回',
  resolve: '处置反馈',
  verify: '核查',
  request_extension: '申请延期',
  decide_extension: '延期审批',
  suspend: '挂账',
  resume: '恢复',
  supervise: '督办',
  rate: '评价',
  reopen: '重新办理',
  comment: '留言',
}

export const RATING_ZH: Record<string, string> = {
  satisfied: '满意',
  basically_satisfied: '基本满意',
  unsatisfied: '不满意',
}

export const OPEN_STATES: CaseState[] = ['reported', 'accepted', 'dispatched', 'in_progress', 'resolved', 'suspended']

const TZ = 'Asia/Shanghai'

function parts(d: Date): Record<string, string> {
  const out: Record<string, string> = {}
  try {
    for (const p of new Intl.DateTimeFormat('zh-CN', {
      timeZone: TZ,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    }).formatToParts(d)) out[p.type] = p.value
  } catch {
    out.year = String(d.getFullYear())
  }
  return out
}

/** "11-23 14:05" this year, else "2025-11-23 14:05" (Asia/Shanghai). */
export function formatTime(iso: string | number | null | undefined, withYear = false): string {
  if (iso == null || iso === '') return ''
  const d = new Date(iso)
  if (Number.isNaN(d.getTime())) return ''
  const p = parts(d)
  const thisYear = parts(new Date()).year
  const date = withYear || p.year !== thisYear ? `${p.year}-${p.month}-${p.day}` : `${p.month}-${p.day}`
  return `${date} ${p.hour}:${p.minute}`
}

/** "刚刚", "5 分钟前", "3 小时前", else the time. */
export function formatAgo(ms: number | null | undefined, now = Date.now()): string {
  if (!ms) return ''
  const s = Math.round((now - ms) / 1000)
  if (s < 60) return '刚刚'
  if (s < 3600) return `${Math.floor(s / 60)} 分钟前`
  if (s < 86400) return `${Math.floor(s / 3600)} 小时前`
  return formatTime(ms)
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`
  if (n < 1024 * 1024) return `${Math.round(n / 1024)} KB`
  return `${(n / 1024 / 1024).toFixed(1)} MB`
}
