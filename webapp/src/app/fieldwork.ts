/**
 * Field work glued to the app (issue 17): the patrol recorder on the browser's geolocation and
 * the outbox, the screen kept awake while patrolling, 签到/补签 queued in the outbox and my
 * check-ins read from the server. The rules live in ./patrol.ts and ./checkin.ts (pure, tested).
 */
import { computed, reactive } from 'vue'
import { locate } from '@/shared/geo'
import { translator, type Dictionary } from '@/shared/i18n'
import { uuid4 } from '@/shared/uuid'
import { kvGet, kvSet } from './db'
import { checkInItem, localDay, makeupAt, type CheckIn, type CheckInCache } from './checkin'
import { currentFix, noteFix } from './location'
import { outboxStore, patrolKey, PatrolRecorder, type GeoSource, type PatrolState } from './patrol'
import { api } from './session'
import { db, getOutbox, noteNetwork, outbox, plain, state } from './store'
import { syncNow } from './sync'

/** The words of this feature, zh first, en second (one translate function: @/shared/i18n). */
export const FIELDWORK_WORDS: Dictionary = {
  fieldWork: ['外勤', 'Field work'],
  patrol: ['巡查', 'Patrol'],
  startPatrol: ['开始巡查', 'Start patrol'],
  endPatrol: ['结束巡查', 'End patrol'],
  patrolling: ['巡查中', 'Patrolling'],
  elapsed: ['用时', 'Time'],
  distance: ['里程', 'Distance'],
  waitingPoints: ['待发送点', 'Points waiting'],
  endConfirm: ['结束本次巡查？', 'End this patrol?'],
  endConfirmText: ['已记录 {points} 个点、{distance}。结束后轨迹会发送到服务器（没有网络时联网后发送）。', '{points} points, {distance} recorded. The track is sent (when online).'],
  endRefusedText: ['已记录 {points} 个点、{distance}。服务器未接受这次巡查：结束后轨迹保留在本机，不会发送。', '{points} points, {distance} recorded. The server refused this patrol: the track stays on the phone, unsent.'],
  background: [
    '请保持本页打开：苹果手机（iOS）上，熄屏、切到其他应用或关闭网格通后都不会记录轨迹；安卓手机切到后台也可能暂停。',
    'Keep this page open: on iPhones (iOS) nothing is recorded with the screen off, in another app or with the app closed; Android may pause it in the background too.',
  ],
  wakeOn: ['屏幕常亮：已开启', 'Screen kept awake'],
  wakeNone: ['此浏览器不能保持屏幕常亮：请在系统设置里把自动锁屏时间调长。', 'This browser cannot keep the screen awake: lengthen the auto-lock time.'],
  wakeFailed: ['未能保持屏幕常亮（省电模式？）：请在系统设置里把自动锁屏时间调长。', 'Could not keep the screen awake (power saving?).'],
  noGps: ['暂时没有定位：巡查已开始，收到定位后开始记录。', 'No position yet: the patrol has started and records once one arrives.'],
  checkIn: ['今日签到', 'Check in today'],
  checkInNow: ['签到', 'Check in'],
  makeup: ['补签', 'Late check-in'],
  makeupDay: ['补签日期', 'Day'],
  makeupTime: ['到岗时间', 'Time'],
  makeupReason: ['补签原因', 'Reason'],
  makeupSend: ['提交补签', 'Send'],
  makeupHint: ['补签最多可补 7 天内，需写明原因，由社区审核。', 'Up to 7 days back, with a reason; the community approves it.'],
  needFix: ['需要定位才能签到：请到室外或窗边，允许“位置”权限后再试。', 'A position is needed to check in.'],
}

export const tw = translator(FIELDWORK_WORDS, () => 'zh')

// --- patrol ----------------------------------------------------------------------------------

export const patrol = reactive({
  state: null as PatrolState | null,
  now: Date.now(),
  gpsMessage: '',
  wake: 'off' as 'off' | 'on' | 'unsupported' | 'failed',
  busy: false,
})

/** Points kept but not yet confirmed by the server: the buffer and the unsent chunks. */
export const waitingPoints = computed(() => {
  const s = patrol.state
  const items = state.outbox.filter((i) => i.kind === 'patrol' && i.state !== 'sent' && (!s || i.recordKey === patrolKey(s.uuid)))
  const queued = items.reduce((n, i) => n + (Array.isArray(i.payload.points) ? i.payload.points.length : 0), 0)
  return queued + (s?.pending.length ?? 0)
})

/** navigator.geolocation as a GeoSource: each position at the moment the phone received it. */
export const browserGeo: GeoSource = {
  watch(onFix, onError) {
    if (typeof navigator === 'undefined' || !navigator.geolocation) {
      onError('此浏览器不支持定位')
      return () => undefined
    }
    const id = navigator.geolocation.watchPosition(
      (pos) => {
        const fix = { t: Date.now(), lon: pos.coords.longitude, lat: pos.coords.latitude, acc: pos.coords.accuracy }
        noteFix(fix.lon, fix.lat, fix.acc, fix.t)
        patrol.gpsMessage = ''
        onFix(fix)
      },
      (err) => onError(err.code === err.PERMISSION_DENIED ? '未获得定位权限：请在设置中允许“位置”，否则无法记录轨迹。' : '暂时无法定位（信号弱或在室内），会继续尝试。'),
      { enableHighAccuracy: true, maximumAge: 5000, timeout: 30_000 },
    )
    return () => navigator.geolocation.clearWatch(id)
  },
}

let recorder: PatrolRecorder | null = null
let ticker: ReturnType<typeof setInterval> | null = null
let lastSeq = 0

function onPatrolChange(s: PatrolState | null): void {
  patrol.state = s ? plain(s) : null
  // a new chunk (or the end) was queued: send it now if we can
  const seq = s?.seq ?? -1
  if (seq !== lastSeq) {
    lastSeq = seq
    void syncNow(false)
  }
}

/** At start-up (after the outbox): the open patrol comes back with its buffered points. */
export async function initPatrol(): Promise<void> {
  if (!db || !outbox) return
  recorder = new PatrolRecorder({
    store: outboxStore(db, outbox),
    now: () => Date.now(),
    uuid: uuid4,
    userId: () => state.session?.user.id ?? null,
    geo: browserGeo,
    onChange: onPatrolChange,
    onGeoError: (m) => {
      patrol.gpsMessage = m
    },
  })
  const s = await recorder.resume()
  lastSeq = s?.seq ?? -1
  if (s) patrolling(true)
}

function patrolling(on: boolean): void {
  if (on && !ticker) {
    let lastTick = Date.now()
    ticker = setInterval(() => {
      patrol.now = Date.now()
      // the 5-minute cut also when no fix arrives
      if (patrol.now - lastTick >= 15_000) {
        lastTick = patrol.now
        void recorder?.tick()
      }
    }, 1000)
    void keepAwake()
  } else if (!on && ticker) {
    clearInterval(ticker)
    ticker = null
    void releaseWake()
  }
  patrol.now = Date.now()
}

export async function startPatrol(): Promise<void> {
  if (!recorder || patrol.busy) return
  patrol.busy = true
  try {
    const fix = await currentFix(3000)
    if (!fix) patrol.gpsMessage = tw('noGps')
    const grid = fix ? locate(state.grids, fix.lon, fix.lat).grid : null
    await recorder.start({ lon: fix?.lon, lat: fix?.lat, gridCode: grid?.properties.code ?? null })
    patrolling(true)
    void syncNow(true)
  } finally {
    patrol.busy = false
  }
}

export async function endPatrol(): Promise<void> {
  if (!recorder || patrol.busy) return
  patrol.busy = true
  try {
    await recorder.end()
    patrolling(false)
    void syncNow(true)
  } finally {
    patrol.busy = false
  }
}

// --- Screen Wake Lock ------------------------------------------------------------------------

let wakeLock: WakeLockSentinel | null = null
let wakeListener = false

async function keepAwake(): Promise<void> {
  const wl = typeof navigator !== 'undefined' ? navigator.wakeLock : undefined
  if (!wl) {
    patrol.wake = 'unsupported'
    return
  }
  if (!wakeListener) {
    wakeListener = true
    // the browser releases the lock when the page is hidden: take it again when it comes back
    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState === 'visible' && patrol.state) void keepAwake()
    })
  }
  if (wakeLock && !wakeLock.released) return
  try {
    wakeLock = await wl.request('screen')
    patrol.wake = 'on'
    wakeLock.addEventListener('release', () => {
      if (patrol.wake === 'on') patrol.wake = 'off'
    })
  } catch {
    patrol.wake = 'failed'
  }
}

async function releaseWake(): Promise<void> {
  const l = wakeLock
  wakeLock = null
  patrol.wake = 'off'
  try {
    await l?.release()
  } catch {
    /* already released */
  }
}

// --- check-ins -------------------------------------------------------------------------------

export const checkIns = reactive({ items: [] as CheckIn[], fetchedAt: 0, busy: false, error: '' })

export function today(): string {
  return localDay(Date.now())
}

export async function loadCheckIns(): Promise<void> {
  if (!db || !state.session) return
  const c = await kvGet(db, 'checkIns')
  if (c && c.userId === state.session.user.id) {
    checkIns.items = c.items
    checkIns.fetchedAt = c.fetchedAt
  }
}

/** My check-ins of the last 8 days, from the server (kept for offline). */
export async function refreshCheckIns(): Promise<void> {
  if (!db || !state.session) return
  try {
    const ans = await api.request<{ items: CheckIn[] }>('GET', '/check-ins', { query: { worker_id: state.session.user.id } })
    const since = localDay(Date.now() - 8 * 86400_000)
    const items = (ans.data.items ?? []).filter((c) => c.day >= since)
    const cache: CheckInCache = { userId: state.session.user.id, fetchedAt: Date.now(), items }
    await kvSet(db, 'checkIns', plain(cache))
    checkIns.items = items
    checkIns.fetchedAt = cache.fetchedAt
  } catch (err) {
    noteNetwork(err)
  }
}

/** 签到: today, here (a position is required). Throws with a message the worker understands. */
export async function checkInNow(): Promise<void> {
  checkIns.busy = true
  checkIns.error = ''
  try {
    const fix = await currentFix(10_000, 0)
    if (!fix) {
      checkIns.error = tw('needFix')
      return
    }
    await getOutbox().add(checkInItem({ uuid: uuid4(), at: new Date().toISOString(), lon: fix.lon, lat: fix.lat, accuracy: fix.accuracy }))
    void syncNow(true)
  } finally {
    checkIns.busy = false
  }
}

/** 补签 for a past day (≤ 7 days back) with a reason; the community decides. */
export async function queueMakeup(day: string, time: string, reason: string): Promise<void> {
  await getOutbox().add(checkInItem({ uuid: uuid4(), at: makeupAt(day, time), reason }))
  void syncNow(true)
}
