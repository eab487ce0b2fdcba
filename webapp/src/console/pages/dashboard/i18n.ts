/** Words of the dashboard, Simplified Chinese first; metric names come from the server. */
import { ApiError } from '@/shared/api'
import { locale } from '../../i18n'

const D: Record<string, [string, string]> = {
  title: ['统计分析', 'Analytics'],
  period: ['统计期', 'Period'],
  p_month: ['本月', 'This month'],
  p_last_month: ['上月', 'Last month'],
  p_quarter: ['本季度', 'This quarter'],
  p_year: ['本年', 'This year'],
  p_30d: ['近30天', 'Last 30 days'],
  p_custom: ['自定义', 'Custom'],
  as_of: ['统计时点', 'As of'],
  as_of_now: ['现在', 'now'],
  scope: ['范围', 'Scope'],
  all_region: ['全部辖区', 'Whole jurisdiction'],
  all_departments: ['全部部门', 'All departments'],
  all_categories: ['全部类别', 'All categories'],
  compare: ['对比', 'Compare'],
  cmp_none: ['不对比', 'No comparison'],
  cmp_prev: ['环比（上一期）', 'Previous period'],
  cmp_yoy: ['同比（去年同期）', 'Same period last year'],
  vs: ['对比期', 'vs'],
  export: ['导出', 'Export'],
  export_xlsx: ['导出 Excel', 'Export .xlsx'],
  export_csv: ['导出 CSV', 'Export .csv'],
  loading: ['加载中…', 'Loading…'],
  refresh: ['刷新', 'Refresh'],
  trend: ['趋势', 'Trend'],
  by_week: ['按周', 'By week'],
  by_month: ['按月', 'By month'],
  trend_hint: ['最近 12 个周期，截至统计期末；点击数据点查看案件', 'Last 12 periods up to the end of the period; click a point for its cases'],
  map: ['分布地图', 'Map'],
  map_metric: ['指标', 'Metric'],
  level_town: ['乡镇/街道', 'Towns'],
  level_community: ['社区/村', 'Communities'],
  level_grid: ['网格', 'Grids'],
  map_hint: ['点击区域查看案件', 'Click an area for its cases'],
  no_data: ['无数据', 'no data'],
  ranking: ['排名', 'Ranking'],
  rk_town: ['乡镇/街道', 'Towns'],
  rk_community: ['社区/村', 'Communities'],
  rk_department: ['处置部门', 'Departments'],
  rk_worker: ['网格员', 'Grid workers'],
  rk_category: ['案件类别', 'Categories'],
  sc_department: ['部门考核', 'Department scores'],
  sc_worker: ['网格员考核', 'Grid worker scores'],
  rank: ['排名', 'Rank'],
  name: ['名称', 'Name'],
  score: ['得分', 'Score'],
  grade: ['等级', 'Grade'],
  total: ['合计', 'Total'],
  sort_hint: ['点击表头排序，点击数字查看案件', 'Click a header to sort, a number for its cases'],
  cases_behind: ['案件明细', 'Cases behind the number'],
  numerator: ['分子', 'Numerator'],
  denominator: ['分母', 'Denominator'],
  counted_n: ['共 {n}', '{n} in all'],
  items_n: ['{n} 条记录', '{n} rows'],
  number: ['案件编号', 'Case'],
  state: ['状态', 'State'],
  accepted_at: ['立案时间', 'Accepted'],
  reported_at: ['上报时间', 'Reported'],
  rejected_at: ['不予立案时间', 'Rejected'],
  dispatched_at: ['派遣时间', 'Dispatched'],
  deadline_at: ['处置时限', 'Deadline'],
  last_resolved_at: ['最后处置反馈', 'Last resolution'],
  verified_at: ['核查时间', 'Verified'],
  resolved_at: ['处置反馈', 'Resolved'],
  department: ['部门', 'Department'],
  rating: ['评价', 'Rating'],
  handling_hours: ['处置工作时长', 'Handling (work h)'],
  work_hours: ['工作时长', 'Work hours'],
  outcome: ['结果', 'Outcome'],
  on_time: ['按期', 'On time'],
  passed: ['核查通过', 'Passed'],
  weight: ['计数', 'Counts'],
  yes: ['是', 'yes'],
  no: ['否', 'no'],
  self_handled: ['自行处置', 'self-handled'],
  o_resolved: ['已处置', 'resolved'],
  o_rework: ['返工', 'rework'],
  o_returned: ['退回', 'returned'],
  o_open: ['未完成', 'open'],
  more: ['更多', 'More'],
  close: ['关闭', 'Close'],
  formula: ['口径', 'Definition'],
  prev_value: ['对比期 {v}', 'vs {v}'],
  hours_unit: ['工作小时', 'work h'],
  none_group: ['（无）', '(none)'],
  not_applicable: ['不适用', 'n/a'],
  drill_hint: ['点击数字查看背后的案件', 'Click a number for the cases behind it'],
  kpi_of: ['{a} / {b}', '{a} / {b}'],
}

export function td(key: string, params?: Record<string, string | number>): string {
  const entry = D[key]
  let s = entry ? entry[locale.value === 'zh' ? 0 : 1] : key
  if (params) for (const [k, v] of Object.entries(params)) s = s.split(`{${k}}`).join(String(v))
  return s
}

/** An error's message in the current language (the right half of "中文 / English"). */
export function errText(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err)
  if (!(err instanceof ApiError)) return msg
  const i = msg.indexOf(' / ')
  if (i < 0) return msg
  return locale.value === 'zh' ? msg.slice(0, i) : msg.slice(i + 3)
}
