/** Words of the calendar page and banner, Simplified Chinese first and English second. */
import { translator, type Dictionary } from '@/shared/i18n'
import { locale } from '../../i18n'

const D: Dictionary = {
  title: ['法定节假日与调休', 'Statutory holidays and adjusted working days'],
  nav: ['日历', 'Calendar'],
  year: ['年份', 'Year'],
  prev: ['上一年', 'Previous year'],
  next: ['下一年', 'Next year'],
  source_database: ['管理员录入', 'Entered by an admin'],
  source_package: ['chinesecalendar 软件包', 'chinesecalendar package'],
  source_unknown: ['未知', 'Unknown'],
  unknown_note: [
    '该年份的法定节假日尚未录入：时限按周一至周五计算，不考虑节假日。',
    'This year is not entered: deadlines count Monday–Friday and ignore holidays.',
  ],
  updated: ['最后修改', 'Last changed'],
  holidays: ['节假日', 'Holidays'],
  workdays: ['调休上班日', 'Adjusted working days'],
  none: ['无', 'None'],
  date: ['日期', 'Date'],
  weekday: ['星期', 'Weekday'],
  name: ['名称', 'Name'],
  legend_holiday: ['休', 'Off'],
  legend_workday: ['班', 'Work'],
  legend_weekend: ['周末', 'Weekend'],
  changes: ['修改记录', 'Changes'],
  no_changes: ['没有修改记录', 'No changes'],
  action_replace: ['录入', 'entered'],
  action_import: ['导入', 'imported'],
  action_delete: ['删除', 'deleted'],
  added: ['新增', 'added'],
  removed: ['删除', 'removed'],
  changed: ['修改', 'changed'],
  edit: ['编辑', 'Edit'],
  edit_help: [
    '每行一天：日期,类型,名称。类型 holiday = 放假（含假期内的周末），workday = 调休上班的周六或周日。保存后替换该年全部数据。',
    'One day a line: date,kind,name. kind holiday = a day off (weekends inside the break too), workday = a Saturday or Sunday worked. Saving replaces the whole year.',
  ],
  reason: ['原因（如国务院办公厅通知文号）', 'Reason (e.g. the State Council notice number)'],
  save: ['保存', 'Save'],
  cancel: ['取消', 'Cancel'],
  import_file: ['从文件导入（CSV / JSON）', 'Import a file (CSV / JSON)'],
  delete_year: ['删除录入（恢复软件包数据）', 'Delete the entry (back to the package)'],
  saved: ['已保存', 'Saved'],
  bad_lines: ['无法识别的行：', 'Lines not understood: '],
  reason_required: ['请填写原因', 'Give a reason'],
  banner: [
    '{years} 年的法定节假日尚未录入：时限将只按周一至周五计算，不考虑节假日。',
    'The statutory holidays of {years} are not entered: deadlines will count Monday–Friday and ignore holidays.',
  ],
  banner_action: ['去录入', 'Enter it'],
  admins_edit: ['仅系统管理员可编辑', 'Only admins edit'],
}

const WEEKDAYS: [string[], string[]] = [
  ['一', '二', '三', '四', '五', '六', '日'],
  ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'],
]

export const tc = translator(D, () => locale.value)

/** Monday = 0 … Sunday = 6. */
export function weekdayName(i: number): string {
  return WEEKDAYS[locale.value === 'zh' ? 0 : 1][i] ?? ''
}
