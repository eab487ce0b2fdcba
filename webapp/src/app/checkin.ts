/**
 * 签到 / 补签 (issue 17), the pure parts: the county's day (Asia/Shanghai), the days a 补签 may
 * be asked for, the request body, the reason rule, and a day's status as the worker sees it —
 * from the server's copy (GET /check-ins) and from what still waits in the outbox. The check-in
 * itself is an outbox item of kind 'checkin' (POST /api/v1/check-ins), so it works offline.
 */
import type { ItemError, OutboxItem } from './db'
import type { NewItem } from './outbox'
import { isStatedReason } from '@/shared/reason'
import { CheckInStatus as Status, type CheckInStatusName } from '@/shared/vocabulary'

export const TZ_OFFSET = '+08:00' // Asia/Shanghai has no daylight saving
export const MAKEUP_DAYS = 7


/** A check-in as the server answers it (FIELDWORK_CONTRACT). */
export interface CheckIn {
  id: number
  uuid: string
  day: string
  at: string
  grid_code: string | null
  late: boolean
  makeup: boolean
  reason: string | null
  status: CheckInStatusName
  /** The status's words, from the server's vocabulary (server/domain/fieldwork.py). */
  status_label?: { zh: string; en: string }
  decided_at?: string | null
  decision_note?: string | null
}

export interface CheckInCache {
  userId: number
  fetchedAt: number
  items: CheckIn[]
}

/** The county's date of a moment: "2026-11-29". */
export function localDay(ms: number): string {
  return new Date(ms + 8 * 3600_000).toISOString().slice(0, 10)
}

export function addDays(day: string, n: number): string {
  const d = new Date(`${day}T00:00:00Z`)
  d.setUTCDate(d.getUTCDate() + n)
  return d.toISOString().slice(0, 10)
}

/** The past days a 补签 may be asked for, newest first (yesterday … 7 days back). */
export function makeupDays(today: string): string[] {
  return Array.from({ length: MAKEUP_DAYS }, (_, k) => addDays(today, -(k + 1)))
}

/** The moment a 补签 claims: that day at HH:MM in the county's time. */
export function makeupAt(day: string, time: string): string {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(day) || !/^\d{2}:\d{2}$/.test(time)) throw new Error('bad day or time')
  return `${day}T${time}:00${TZ_OFFSET}`
}

/** The project's reason rule (../shared/reason.ts, the server's). Null when fine, else the problem. */
export function reasonProblem(reason: string): string | null {
  return isStatedReason(reason) ? null : '请写明补签原因（至少 2 个字或数字，标点不算）'
}

export interface CheckInInput {
  uuid: string
  /** ISO time: now for today's 签到, the claimed moment of a past day for 补签. */
  at: string
  lon?: number | null
  lat?: number | null
  accuracy?: number | null
  reason?: string
}

export function checkInItem(c: CheckInInput): NewItem {
  const payload: Record<string, unknown> = { uuid: c.uuid, at: c.at }
  if (c.lon != null && c.lat != null) {
    payload.lon = Math.round(c.lon * 1e7) / 1e7
    payload.lat = Math.round(c.lat * 1e7) / 1e7
    if (c.accuracy != null) payload.accuracy_m = Math.round(c.accuracy * 10) / 10
  }
  const reason = c.reason?.trim()
  if (reason) payload.reason = reason
  const day = c.at.slice(0, 10)
  return {
    id: c.uuid,
    kind: 'checkin',
    request: { method: 'POST', path: '/check-ins' },
    label: reason ? `补签 · ${day}` : '签到',
    payload,
  }
}

/** The day an outbox check-in is for (its `at` in the county's time). */
export function itemDay(i: OutboxItem): string {
  const at = String(i.payload.at ?? '')
  const ms = Date.parse(at)
  return Number.isNaN(ms) ? at.slice(0, 10) : localDay(ms)
}

/** The phone's own states of a day, and the server's statuses of its check-in. */
export type DayState = 'none' | 'waiting' | 'refused' | 'late' | CheckInStatusName

export interface DayStatus {
  state: DayState
  text: string
  /** The server's reason for refusing (outside the grid: the nearest grid and the distance). */
  message?: string
  checkIn?: CheckIn
  item?: OutboxItem
}

/** The check-in in a POST /check-ins answer (the record itself; `{check_in}` tolerated). */
export function answeredCheckIn(body: Record<string, unknown> | null | undefined): CheckIn | undefined {
  if (!body) return undefined
  const c = (body.check_in ?? body) as Partial<CheckIn>
  return typeof c.uuid === 'string' && typeof c.status === 'string' && typeof c.day === 'string' ? (c as CheckIn) : undefined
}

/** Words for a 422 outside_grid (or any refusal): the server's message and its details. */
export function refusalText(e: ItemError | undefined): string {
  if (!e) return ''
  const d = e.detail ?? {}
  const near = d.nearest_grid as { name?: string; code?: string } | string | undefined
  const name = typeof near === 'string' ? near : (near?.name ?? near?.code)
  const dist = typeof d.distance_m === 'number' ? d.distance_m : null
  const extra = name && !e.message.includes(name) ? `最近的网格：${name}${dist != null ? `，相距约 ${Math.round(dist)} 米` : ''}` : ''
  return [e.message, extra].filter(Boolean).join('；')
}

// The phone's own states (nothing yet, waiting in the outbox, refused, late); a status the
// server decided is said in the server's words (status_label), these only until it has answered.
const TEXT: Record<DayState, string> = {
  none: '未签到',
  waiting: '已签到，待发送',
  refused: '签到未通过',
  accepted: '已签到',
  late: '已签到（迟到）',
  pending: '补签待审批',
  approved: '补签已批准',
  rejected: '补签已驳回',
}

/**
 * A day's check-in as the worker sees it: an item still in the outbox first (waiting, or refused
 * with the server's reason), else the server's copy (a rejected one only when nothing else).
 */
export function dayStatus(day: string, server: readonly CheckIn[], items: readonly OutboxItem[]): DayStatus {
  const mine = items.filter((i) => i.kind === 'checkin' && itemDay(i) === day).sort((a, b) => b.seq - a.seq)
  // the newest item decides: a check-in refused (outside the grid) and then made again inside
  // is a checked-in day, while the refused one stays in 待发送 until the worker deletes it
  const open = mine[0] && mine[0].state !== 'sent' ? mine[0] : undefined
  // 409 already_checked_in: the day has a live check-in (made on another phone, or this one
  // sent twice under two UUIDs): show that one; the refused item stays for the worker to delete
  const existing = open?.error?.code === 'already_checked_in' ? (open.error.detail?.existing as CheckIn | undefined) : undefined
  if (open && !existing) {
    if (open.state === 'attention' || open.state === 'conflict') {
      return { state: 'refused', text: TEXT.refused, message: refusalText(open.error), item: open }
    }
    return { state: 'waiting', text: TEXT.waiting, item: open }
  }
  const answered = [...mine.map((i) => answeredCheckIn(i.answer?.body)), existing].filter((c): c is CheckIn => Boolean(c))
  // the server's copy read later wins (a 补签 approved or rejected since)
  const fromServer = server.filter((c) => c.day === day)
  const all = [...fromServer, ...answered.filter((a) => !fromServer.some((c) => c.uuid === a.uuid))]
  const live = all.find((c) => c.status !== Status.REJECTED) ?? all[0]
  if (!live) return { state: 'none', text: TEXT.none }
  const state: DayState = live.status === Status.ACCEPTED ? (live.late ? 'late' : Status.ACCEPTED) : live.status
  const message = live.status === Status.REJECTED ? live.decision_note || undefined : existing ? '这一天已有签到记录，本次没有重复签到' : undefined
  const text = state === 'late' ? TEXT.late : (live.status_label?.zh ?? TEXT[state])
  return { state, text, checkIn: live, message, item: existing ? open : undefined }
}
