/**
 * Live updates: one long poll (`GET /changes?after=CURSOR&wait=20`) for the whole console; pages
 * subscribe to the changed case summaries. Reconnects with a short backoff; `live.ok` drives the
 * "live" indicator in the top bar.
 */
import { reactive } from 'vue'
import { ApiError } from '@/shared/api'
import type { CaseSummary } from '@/shared/types'
import { api, session, waitForLogin } from './session'

type Listener = (items: CaseSummary[]) => void

export const live = reactive({ ok: true, running: false, lastAt: 0 })
const listeners = new Set<Listener>()
let cursor = ''
let stopped = false

export function onChanges(fn: Listener): () => void {
  listeners.add(fn)
  return () => listeners.delete(fn)
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

export async function startLive(): Promise<void> {
  if (live.running) return
  live.running = true
  stopped = false
  let backoff = 1000
  while (!stopped) {
    try {
      const { data } = await api.request<{ cursor: string; items: CaseSummary[]; retry_after?: number }>('GET', '/changes', {
        query: { after: cursor, wait: cursor ? 20 : 0 },
        timeoutMs: 35_000,
      })
      const first = !cursor
      cursor = data.cursor
      live.ok = true
      live.lastAt = Date.now()
      backoff = 1000
      if (!first && data.items.length) listeners.forEach((fn) => fn(data.items))
      // The server refused to hold this poll open (too many waiting): wait as it says.
      if (data.retry_after) await sleep(Math.min(data.retry_after, 60) * 1000)
    } catch (err) {
      live.ok = false
      if (err instanceof ApiError && err.status === 401) {
        session.expired = true
        await waitForLogin()
        continue
      }
      await sleep(backoff)
      backoff = Math.min(backoff * 2, 10_000)
    }
  }
  live.running = false
}

export function stopLive(): void {
  stopped = true
}
