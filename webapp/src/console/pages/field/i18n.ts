/**
 * Words of the 外勤 / Field work section (issue 17), Simplified Chinese first, English second.
 * Names of check-in statuses and work-log entry kinds are labelled by the server (next to the
 * name in its answers, or in `/bootstrap`); what is here are the screens' own words.
 */
import { translator, vocabulary, type Dictionary } from '@/shared/i18n'
import { locale } from '../../i18n'
import { statusLabels } from './api'

const D: Dictionary = {
  nav: ['外勤', 'Field work'],
  section: ['外勤', 'Field work'],
  tab_logs: ['工作日志', 'Work logs'],
  tab_checkins: ['补签审批', 'Late check-ins'],
  hint: ['巡查轨迹仅网格员本人及所属社区、乡镇的督查人员可见', 'Tracks: only the worker and the supervisors of their community and town'],
  denied: ['外勤（签到、工作日志、巡查轨迹）仅督查人员可查看', 'Field work (check-ins, work logs, tracks) is for supervisors only'],
  date: ['日期', 'Date'],
  prev_day: ['前一天', 'Previous day'],
  next_day: ['后一天', 'Next day'],
  today: ['今天', 'Today'],
  region: ['区域', 'Region'],
  all_regions: ['全部辖区', 'My whole jurisdiction'],
  worker: ['网格员', 'Grid worker'],
  check_in: ['签到', 'Check-in'],
  no_check_in: ['未签到', 'Not checked in'],
  patrols: ['巡查', 'Patrols'],
  distance: ['里程', 'Distance'],
  duration: ['时长', 'Duration'],
  coverage: ['覆盖率', 'Coverage'],
  visits: ['走访', 'Visits'],
  reports: ['上报', 'Reports'],
  verifications: ['核查', 'Verifications'],
  comments: ['批注', 'Comments'],
  open_day: ['查看当天', 'Open the day'],
  no_rows: ['该日期辖区内没有网格员记录', 'No grid workers in the jurisdiction for this date'],
  summary: ['{n} 名网格员 · {c} 人已签到 · {p} 人巡查 · 共 {km} 公里', '{n} workers · {c} checked in · {p} patrolled · {km} km in all'],
  back_logs: ['返回工作日志', 'Back to the work logs'],
  day_title: ['{name} · {date} 外勤', '{name} · field work on {date}'],
  map: ['轨迹地图', 'Track map'],
  track_denied: ['您无权查看该网格员的巡查轨迹（仅本人及所属社区、乡镇的督查人员可见）', 'You may not see the tracks of this worker (only the worker and the supervisors of their community and town)'],
  map_loading: ['地图加载中…', 'Loading the map…'],
  patrol_n: ['巡查 {n}', 'Patrol {n}'],
  open_patrol: ['进行中', 'in progress'],
  points: ['{n} 个点', '{n} points'],
  no_patrols: ['当天没有巡查', 'No patrols that day'],
  coverage_pending: ['计算中', 'pending'],
  cases: ['案件', 'Cases'],
  no_cases: ['当天没有上报案件', 'No cases reported that day'],
  no_visits: ['当天没有走访', 'No visits that day'],
  on_patrol: ['巡查中', 'on a patrol'],
  off_patrol: ['非巡查时段', 'not on a patrol'],
  check_in_point: ['签到点', 'Check-in point'],
  legend: ['图例', 'Legend'],
  legend_case_on: ['案件（巡查中）', 'Case (on a patrol)'],
  legend_case_off: ['案件（非巡查时段）', 'Case (not on a patrol)'],
  legend_visit_on: ['走访（巡查中）', 'Visit (on a patrol)'],
  legend_visit_off: ['走访（非巡查时段）', 'Visit (not on a patrol)'],
  timeline: ['当天时间线', 'Timeline of the day'],
  no_entries: ['当天没有记录', 'Nothing recorded that day'],
  comment_list: ['督查批注', 'Supervisor comments'],
  no_comments: ['暂无批注', 'No comments yet'],
  comment_ph: ['对当天工作的批注（Ctrl+Enter 提交）', 'A comment on the work of the day (Ctrl+Enter sends)'],
  comment_add: ['添加批注', 'Add a comment'],
  comment_saved: ['批注已保存', 'Comment saved'],
  comment_empty: ['请填写批注内容', 'Write the comment first'],
  late: ['迟到', 'late'],
  makeup: ['补签', 'late check-in'],
  // check-in approvals
  checkins_title: ['补签审批', 'Late check-ins to approve'],
  status: ['状态', 'Status'],
  day: ['补签日期', 'For the day'],
  submitted: ['提交时间', 'Submitted'],
  reason: ['原因', 'Reason'],
  grid: ['网格', 'Grid'],
  decision: ['处理', 'Decision'],
  note_ph: ['审批意见', 'Note'],
  approve: ['批准', 'Approve'],
  decline: ['驳回', 'Reject'],
  approved_toast: ['已批准补签', 'Check-in approved'],
  rejected_toast: ['已驳回补签', 'Check-in rejected'],
  decided: ['{who} 于 {at} 处理', 'decided by {who} at {at}'],
  no_checkins: ['没有待审批的补签', 'No late check-ins waiting'],
  no_checkins_any: ['没有符合条件的签到', 'No check-ins match'],
  all_statuses: ['全部状态', 'Any status'],
  supervisors_decide: ['由所属社区的督查人员审批', 'Decided by the supervisors of the community'],
  hours_minutes: ['{h} 小时 {m} 分', '{h} h {m} min'],
  minutes: ['{m} 分', '{m} min'],
  km: ['{km} 公里', '{km} km'],
}

export const tf = translator(D, () => locale.value)

/** A label the server sent next to the name, in the console's language. */
export function inlineLabel(l: { zh: string; en: string } | null | undefined): string {
  if (!l) return ''
  return locale.value === 'zh' ? l.zh : l.en || l.zh
}

/**
 * The server's label of a field-work name (a check-in status, a work-log entry kind …) when
 * `/bootstrap` sends that vocabulary; else the name itself (never re-typed here).
 */
export function fieldLabel(kind: string, name: string | null | undefined): string {
  if (!name) return ''
  const labels = (vocabulary.value as Record<string, unknown> | null)?.[kind] as Record<string, { zh: string; en: string }> | undefined
  const l = labels?.[name]
  if (!l) return name
  return locale.value === 'zh' ? l.zh : l.en || l.zh
}

/** Does `/bootstrap` label this name? (A kind the server does not label is left unsaid.) */
export function fieldHasLabel(kind: string, name: string | null | undefined): boolean {
  return fieldLabel(kind, name) !== (name ?? '')
}

/** The names of a field-work vocabulary, in the server's order ([] when it sent none). */
export function fieldNames(kind: string): string[] {
  const labels = (vocabulary.value as Record<string, unknown> | null)?.[kind]
  return labels && typeof labels === 'object' ? Object.keys(labels) : []
}

/** A check-in status in words: the label sent with it, else one the server sent before (or in
 * `/bootstrap`), else the name. */
export function checkInLabel(status: string | null | undefined, sent?: { zh: string; en: string } | null): string {
  if (!status) return ''
  if (sent) return inlineLabel(sent)
  if (fieldHasLabel('check_in_statuses', status)) return fieldLabel('check_in_statuses', status)
  return inlineLabel(statusLabels[status]) || status
}
