/**
 * A small i18n dictionary for the console: Simplified Chinese first (the default), English second.
 * `t('key')` is reactive (it reads `locale.value`), so templates re-render on a switch.
 * State and action labels come from the server's workflow table (bootstrap) when loaded.
 */
import { ref } from 'vue'
import { formatDeadline, formatDeadlineMoment, formatHoursLeft, hoursUnit, WORK_HOURS_LEGEND, type WithDeadline } from '@/shared/deadline'
import { label, setVocabulary, translator, type Dictionary, type Locale } from '@/shared/i18n'
import type { Workflow } from '@/shared/types'
import { RATINGS as RATING_NAMES, SOURCES as SOURCE_NAMES } from '@/shared/vocabulary'

export type { Locale }
const KEY = 'wangge.console.locale'

function initial(): Locale {
  try {
    return localStorage.getItem(KEY) === 'en' ? 'en' : 'zh'
  } catch {
    return 'zh'
  }
}

export const locale = ref<Locale>(initial())

export function setLocale(l: Locale): void {
  locale.value = l
  document.documentElement.lang = l === 'zh' ? 'zh-CN' : 'en'
  try {
    localStorage.setItem(KEY, l)
  } catch {
    /* private mode */
  }
}

const D: Dictionary = {
  app_title: ['指挥中心控制台', 'Command centre'],
  nav_queue: ['案件队列', 'Queue'],
  tab_open: ['在办', 'Open'],
  device_time: ['设备时间', 'device time'],
  nav_map: ['地图', 'Map'],
  nav_hotline: ['12345 热线', '12345 Hotline'],
  nav_overdue: ['超期督办', 'Overdue'],
  nav_admin: ['管理', 'Admin'],
  nav_dashboard: ['统计分析', 'Analytics'],
  nav_base: ['基础信息', 'Base data'],
  nav_desk: ['部门工作台', 'Department desk'],
  logout: ['退出', 'Sign out'],
  large_font: ['大字版', 'Large text'],
  login: ['登录', 'Sign in'],
  login_title: ['登录指挥中心控制台', 'Sign in to the command centre'],
  relogin_title: ['登录已过期，请重新登录', 'Session expired: sign in again'],
  relogin_hint: ['您填写的内容已保留，登录后将继续提交。', 'What you typed is kept; it is sent after you sign in.'],
  username: ['用户名', 'Username'],
  password: ['密码', 'Password'],
  loading: ['加载中…', 'Loading…'],
  retry: ['重试', 'Retry'],
  cancel: ['取消', 'Cancel'],
  close: ['关闭', 'Close'],
  submit: ['提交', 'Submit'],
  save: ['保存', 'Save'],
  search: ['搜索', 'Search'],
  search_ph: ['案件编号、内容、地址或来电号码（按 / ）', 'Number, text, address or caller phone (press /)'],
  all: ['全部', 'All'],
  any: ['不限', 'Any'],
  reset: ['重置', 'Reset'],
  state: ['状态', 'State'],
  town: ['乡镇/街道', 'Town'],
  community: ['社区/村', 'Community'],
  grid: ['网格', 'Grid'],
  grid_code_ph: ['网格编码', 'Grid code'],
  department: ['处置部门', 'Department'],
  category: ['类别', 'Category'],
  source: ['来源', 'Source'],
  urgency: ['紧急程度', 'Urgency'],
  urgent: ['紧急', 'Urgent'],
  normal: ['一般', 'Normal'],
  overdue: ['超期', 'Overdue'],
  overdue_only: ['仅超期', 'Overdue only'],
  period: ['上报时间', 'Reported'],
  from: ['起', 'From'],
  to: ['止', 'To'],
  sort: ['排序', 'Sort'],
  sort_new: ['最新上报', 'Newest'],
  sort_old: ['最早上报', 'Oldest'],
  sort_updated: ['最近更新', 'Recently updated'],
  sort_deadline: ['处置时限', 'Deadline'],
  number: ['编号', 'Number'],
  description: ['问题描述', 'Description'],
  location: ['位置', 'Location'],
  address: ['地址', 'Address'],
  deadline: ['处置时限', 'Deadline'],
  time_left: ['剩余时间', 'Time left'],
  reported_at: ['上报时间', 'Reported'],
  reporter: ['上报人', 'Reporter'],
  caller: ['来电人', 'Caller'],
  caller_name: ['来电人姓名', 'Caller name'],
  caller_phone: ['来电号码', 'Caller phone'],
  load_more: ['加载更多', 'Load more'],
  no_cases: ['没有符合条件的案件', 'No cases match'],
  live_on: ['实时', 'Live'],
  live_off: ['实时连接中断，正在重连', 'Live updates interrupted; reconnecting'],
  new_cases: ['条新案件', 'new'],
  open_case: ['打开', 'Open'],
  shortcuts: ['快捷键', 'Keyboard shortcuts'],
  help_hint: ['按 ? 查看快捷键', 'Press ? for shortcuts'],
  key_jk: ['上一条 / 下一条', 'Previous / next case'],
  key_enter: ['打开案件', 'Open the case'],
  key_a: ['立案', 'Accept'],
  key_d: ['派遣', 'Dispatch'],
  key_r: ['不予立案', 'Reject'],
  key_m: ['合并到已有案件', 'Merge into an existing case'],
  key_s: ['督办', 'Supervise'],
  key_slash: ['搜索', 'Search'],
  key_esc: ['关闭对话框 / 返回', 'Close dialog / back'],
  key_help: ['显示本帮助', 'Show this help'],
  key_ctrl_enter: ['提交表单', 'Submit the form'],
  key_g: ['g q 队列 · g m 地图 · g h 热线 · g o 超期 · g f 外勤', 'g q queue · g m map · g h hotline · g o overdue · g f field work'],
  not_allowed: ['当前状态下不能执行此操作', 'Not possible in the current state'],
  // case page
  case_info: ['案件信息', 'Case'],
  photos: ['照片', 'Photos'],
  no_photos: ['无照片', 'No photos'],
  photo_failed: ['图片加载失败', 'Image failed to load'],
  photo_taken: ['拍摄 {at}', 'Taken {at}'],
  photo_no_watermark: ['无水印 (旧版应用)', 'No watermark (old app version)'],
  photo_no_watermark_hint: ['该照片没有手机端水印（时间、地点、网格、网格员），可能来自旧版应用', 'This photo carries no watermark (time, place, grid, worker): probably from an old app version'],
  photo_desk_upload: ['无水印 (桌面上传)', 'No watermark (desk upload)'],
  photo_desk_upload_hint: ['该照片从电脑端（指挥中心、部门）上传，不是手机现场拍摄，没有水印', 'Uploaded from the console (a desk), not taken with the field app: it carries no watermark'],
  trail: ['全程留痕', 'Trail'],
  actions: ['可执行操作', 'Actions'],
  no_actions: ['当前没有您可执行的操作', 'Nothing for you to do now'],
  duplicates: ['疑似重复案件', 'Possible duplicates'],
  no_duplicates: ['未发现疑似重复', 'No possible duplicates'],
  merge_into: ['合并到此案', 'Merge into this'],
  map_location: ['位置与网格', 'Location and grid'],
  no_location: ['无位置信息', 'No location'],
  location_inside: ['网格内', 'Inside a grid'],
  location_nearest: ['就近网格', 'Nearest grid'],
  location_outside: ['不在任何网格内', 'Outside every grid'],
  location_none: ['无坐标', 'No coordinates'],
  pending_extension: ['待审批延期', 'Extension pending'],
  last_rating: ['评价', 'Rating'],
  duplicate_of: ['重复于', 'Duplicate of'],
  self_handled: ['自行处置', 'Self-handled'],
  version: ['版本', 'Version'],
  back_to_queue: ['返回队列', 'Back to the queue'],
  not_found: ['案件不存在或无权查看', 'No such case (or not yours to see)'],
  // action forms
  f_note: ['备注', 'Note'],
  f_note_resolve: ['处置结果', 'Result'],
  f_reason: ['原因', 'Reason'],
  f_department: ['处置部门', 'Department'],
  f_department_hint: ['按类别推荐', 'proposed for the category'],
  f_urgency: ['紧急程度', 'Urgency'],
  f_photos: ['照片', 'Photos'],
  f_add_photo: ['添加照片', 'Add photos'],
  f_rating: ['满意度', 'Rating'],
  f_duration: ['延期时长', 'Extension'],
  f_days: ['工作日', 'work days'],
  f_passed: ['核查结果', 'Verification'],
  f_pass: ['通过，结案', 'Passed: close'],
  f_fail: ['不通过，返工', 'Failed: rework'],
  f_approved: ['审批', 'Decision'],
  f_approve: ['批准', 'Approve'],
  f_refuse: ['不批准', 'Refuse'],
  f_duplicate_of: ['合并到案件', 'Merge into case'],
  f_duplicate_ph: ['案件编号（可选）', 'Case number (optional)'],
  f_limit: ['时限', 'Time limit'],
  f_deadline_after: ['派遣后处置时限', 'Deadline after dispatch'],
  f_requested: ['申请', 'Requested'],
  done: ['已完成', 'Done'],
  conflict_title: ['操作未生效：案件已被他人处理', 'Not done: someone else acted first'],
  conflict_now: ['当前状态', 'Current state'],
  conflict_last: ['最近一次操作', 'Last action'],
  uploading: ['上传中…', 'Uploading…'],
  upload_failed: ['上传失败', 'Upload failed'],
  required: ['必填', 'required'],
  fill_required: ['请填写标注 * 的必填项', 'Fill in the fields marked *'],
  f_grid: ['划入网格', 'Grid'],
  f_centre: ['交办给', 'Devolve to'],
  f_instruction: ['交办意见', 'Instruction'],
  f_copy_to: ['抄告部门', 'Copy to departments'],
  centre: ['持有中心', 'Held by'],
  transfer_path: ['流转路径', 'Transfer path'],
  held_only: ['仅本中心持有', 'Held by my centre'],
  copied_to: ['已抄告', 'Copied to'],
  f_grid_nearest: ['离上报位置最近', 'nearest to the point'],
  off_grid: ['网格外', 'Outside grids'],
  off_grid_badge: ['网格外·待划入', 'Outside grids: assign'],
  off_grid_hint: ['不在任何网格内，请“划入网格”', 'Outside every grid: use “Assign to grid”'],
  location_assigned: ['已划入网格', 'Assigned to a grid'],
  merge: ['合并', 'Merge'],
  merge_title: ['合并到已有案件', 'Merge into an existing case'],
  merge_reason: ['与已有案件重复，合并处理', 'Duplicate of an existing case: merged'],
  case_n: ['案件（内部编号 {id}）', 'case (internal id {id})'],
  dispatched_deadline: ['已派遣，处置时限', 'Dispatched; deadline'],
  wh: ['工时', 'work h'],
  h: ['小时', 'hours'],
  left: ['剩余', 'left'],
  late: ['超期', 'late'],
  // hotline
  hotline_title: ['12345 热线受理', '12345 hotline intake'],
  hotline_new: ['新建来电工单', 'New call'],
  pick_on_map: ['在地图上点选位置（可选）', 'Pick the place on the map (optional)'],
  address_search: ['查找标准地址', 'Find the address'],
  address_search_ph: ['门牌、小区、楼栋或房号，如“幸福路 12 号 3栋 502”', 'Door plate, estate, building or room, e.g. "幸福路 12 号 3栋 502"'],
  address_none: ['没有找到该地址（可直接填写地址并在地图上点选）', 'No such address (type it and pick the place on the map)'],
  address_no_point: ['该地址没有坐标，请在地图上点选', 'This address has no point: pick it on the map'],
  picked: ['已选位置', 'Picked'],
  clear_point: ['清除位置', 'Clear'],
  grid_found: ['所属网格', 'Grid'],
  grid_none: ['不在任何网格内（将按辖区保留）', 'Outside every grid (kept in your jurisdiction)'],
  created: ['已受理，工单编号', 'Filed as number'],
  callbacks: ['待回访', 'Awaiting callback'],
  callback: ['回访', 'Call back'],
  reopen_list: ['不满意待重办', 'Unsatisfied: reopen'],
  no_callbacks: ['暂无待回访工单', 'No callbacks due'],
  category_ph: ['输入类别名称或代码筛选', 'Type to filter categories'],
  // overdue
  overdue_title: ['超期督办', 'Overdue board'],
  overdue_late: ['已超期', 'Late'],
  overdue_soon: ['即将超期', 'Due soon'],
  soon_within: ['内到期', 'or less left'],
  supervise_one_click: ['督办', 'Supervise'],
  supervised: ['已督办', 'Supervised'],
  stage: ['阶段', 'Stage'],
  stage_due: ['{stage}时限：{when}', '{stage} due: {when}'],
  stage_used: ['已用时限 {pct}%', '{pct}% of the limit used'],
  fixed_deadline: ['指定时限', 'Set deadline'],
  system_actor: ['系统自动督办', 'automatic supervision'],
  supervise_note: ['超期督办：请尽快处置并反馈', 'Overdue: please resolve and report back now'],
  cases_n: ['件', 'cases'],
  nothing_late: ['没有超期或即将超期的案件', 'Nothing late or due soon'],
  // map
  map_states: ['显示', 'Show'],
  map_open: ['在办案件', 'Open cases'],
  map_all: ['全部案件', 'All cases'],
  map_overdue: ['超期案件', 'Overdue cases'],
  legend: ['图例', 'Legend'],
  cluster_hint: ['缩放查看单个案件', 'Zoom in for single cases'],
  grids_n: ['个网格', 'grids'],
  cases_on_map: ['件案件', 'cases'],
  page_missing: ['页面不存在', 'Page not found'],
  role_field: ['网格员请使用手机端', 'Grid workers use the field app'],
  go_field: ['打开手机端', 'Open the field app'],
}

export const t = translator(D, () => locale.value)

// --- the vocabulary's labels: the server's, from /bootstrap (@/shared/i18n) ------------------

export function setWorkflow(w: Workflow | null): void {
  setVocabulary(w)
}

export const stateLabel = (s: string | null | undefined): string => label('states', s, locale.value)
export const actionLabel = (a: string): string => label('actions', a, locale.value)
export const roleLabel = (r: string | null | undefined): string => label('roles', r, locale.value)
export const sourceLabel = (s: string | null | undefined): string => label('sources', s, locale.value)
export const ratingLabel = (r: string | null | undefined): string => label('ratings', r, locale.value)
export const urgencyLabel = (u: string | null | undefined): string => label('urgencies', u, locale.value)
export const stageLabel = (s: string | null | undefined): string => label('stages', s, locale.value)
export const lightLabel = (l: string | null | undefined): string => label('lights', l, locale.value)
export const cardLabel = (c: string | null | undefined): string => label('cards', c, locale.value)
/** A level of command (市 / 县市区 / 乡镇/街道 / 社区/村), from the server (server/domain/levels.py). */
export const levelLabel = (l: string | null | undefined): string => label('levels', l, locale.value)
export const SOURCES: readonly string[] = SOURCE_NAMES
export const RATINGS: readonly string[] = RATING_NAMES

/** Working hours left → "剩余 5.5 工时" / "超期 2 工时" (urgent cases count natural hours: 小时):
 * the shared formatter of both apps (src/shared/deadline.ts), in the console's language. */
export function timeLeftText(hours: number | null | undefined, urgent = false): string {
  return formatHoursLeft(hours, urgent, locale.value === 'zh' ? 'zh' : 'en')
}

/** "明天 14:30 前": the moment of a deadline (src/shared/deadline.ts). */
export function deadlineMoment(iso: string | null | undefined): string {
  return formatDeadlineMoment(iso, new Date(), locale.value === 'zh' ? 'zh' : 'en')
}

/** 工时 (a normal case: working hours), 小时 (an urgent one: natural hours). */
export function hoursLabel(urgent: boolean): string {
  return hoursUnit(urgent, locale.value === 'zh' ? 'zh' : 'en')
}

/** What 工时 means (the overdue board's legend). */
export function workHoursLegend(): string {
  return WORK_HOURS_LEGEND[locale.value === 'zh' ? 'zh' : 'en']
}

/** "明天 14:30 前 · 剩余 4 工时": the moment and the working time left (src/shared/deadline.ts). */
export function deadlineText(c: WithDeadline): string {
  return formatDeadline(c, new Date(), locale.value === 'zh' ? 'zh' : 'en')
}
