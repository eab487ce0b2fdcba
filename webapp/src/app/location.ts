/** GPS with its accuracy, and messages a worker understands when there is none. */
import { onBeforeUnmount, reactive } from 'vue'

export type FixState = 'idle' | 'locating' | 'ok' | 'denied' | 'unavailable' | 'timeout' | 'unsupported'

export interface Fix {
  state: FixState
  lon: number | null
  lat: number | null
  accuracy: number | null
  at: number | null
  message: string
}

export const FIX_MESSAGES: Record<FixState, string> = {
  idle: '',
  locating: '正在定位…（在室外或窗边更快）',
  ok: '',
  denied: '未获得定位权限：请在浏览器或系统设置中允许“位置”，或直接在地图上点选位置。',
  unavailable: '暂时无法定位（信号弱或在室内/地下室）：可以在地图上点选位置，也可以先保存。',
  timeout: '定位超时：可以在地图上点选位置，也可以先保存，手机会继续尝试定位。',
  unsupported: '此浏览器不支持定位：请在地图上点选位置。',
}

/** The latest position any part of the app received (a form's GPS, the patrol): for watermarks. */
export const lastFix: { lon: number | null; lat: number | null; accuracy: number | null; at: number } = { lon: null, lat: null, accuracy: null, at: 0 }

export function noteFix(lon: number, lat: number, accuracy: number, at = Date.now()): void {
  if (lastFix.at && at - lastFix.at < 15_000 && lastFix.accuracy != null && accuracy > lastFix.accuracy * 2) return
  Object.assign(lastFix, { lon, lat, accuracy, at })
}

/**
 * A position for now: the last one received if at most `maxAgeMs` old (a photo: 30 s), else
 * one asked for (at most `waitMs`); null when there is none (the watermark says 未定位). A
 * check-in asks with `maxAgeMs` 0: always a new fix, never where the phone was a minute ago.
 */
export async function currentFix(waitMs = 4000, maxAgeMs = 30_000, now = Date.now()): Promise<{ lon: number; lat: number; accuracy: number } | null> {
  const have =
    maxAgeMs > 0 && lastFix.lon != null && lastFix.lat != null && now - lastFix.at <= maxAgeMs
      ? { lon: lastFix.lon, lat: lastFix.lat, accuracy: lastFix.accuracy ?? 0 }
      : null
  if (have || typeof navigator === 'undefined' || !navigator.geolocation) return have
  return new Promise((resolve) => {
    navigator.geolocation.getCurrentPosition(
      (pos) => {
        noteFix(pos.coords.longitude, pos.coords.latitude, pos.coords.accuracy)
        resolve({ lon: pos.coords.longitude, lat: pos.coords.latitude, accuracy: pos.coords.accuracy })
      },
      () => resolve(null),
      { enableHighAccuracy: true, maximumAge: maxAgeMs, timeout: waitMs },
    )
  })
}

/** Watch the position while the form is open; keep the most accurate recent fix. */
export function useGps() {
  const fix = reactive<Fix>({ state: 'idle', lon: null, lat: null, accuracy: null, at: null, message: '' })
  let watchId: number | null = null

  function set(state: FixState): void {
    fix.state = state
    fix.message = FIX_MESSAGES[state]
  }

  function stop(): void {
    if (watchId != null && typeof navigator !== 'undefined' && navigator.geolocation) navigator.geolocation.clearWatch(watchId)
    watchId = null
  }

  function start(): void {
    stop()
    if (typeof navigator === 'undefined' || !navigator.geolocation) {
      set('unsupported')
      return
    }
    if (fix.state !== 'ok') set('locating')
    watchId = navigator.geolocation.watchPosition(
      (pos) => {
        const acc = pos.coords.accuracy
        noteFix(pos.coords.longitude, pos.coords.latitude, acc)
        const fresh = !fix.at || pos.timestamp - fix.at > 30_000
        if (fix.state !== 'ok' || fresh || fix.accuracy == null || acc <= fix.accuracy) {
          fix.lon = pos.coords.longitude
          fix.lat = pos.coords.latitude
          fix.accuracy = acc
          fix.at = pos.timestamp
        }
        set('ok')
      },
      (err) => {
        if (fix.state === 'ok') return // keep the fix we have
        if (err.code === err.PERMISSION_DENIED) {
          set('denied')
          stop()
        } else if (err.code === err.TIMEOUT) set('timeout')
        else set('unavailable')
      },
      { enableHighAccuracy: true, maximumAge: 15_000, timeout: 25_000 },
    )
  }

  onBeforeUnmount(stop)
  return { fix, start, stop }
}

export function accuracyText(acc: number | null): string {
  if (acc == null) return ''
  return acc < 1000 ? `±${Math.round(acc)} 米` : `±${(acc / 1000).toFixed(1)} 公里`
}
