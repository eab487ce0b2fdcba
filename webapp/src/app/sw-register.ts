/**
 * Registers /app/sw.js and handles updates without stranding anyone: a new worker waits; the
 * app shows "新版本可用" and, when the worker taps 立即更新, tells it to take over and reloads once.
 * The outbox lives in IndexedDB and is not touched by any of this.
 */
import { state } from './store'

let registration: ServiceWorkerRegistration | null = null
let userAsked = false

export function registerServiceWorker(): void {
  if (!('serviceWorker' in navigator) || !import.meta.env.PROD) return
  const go = async (): Promise<void> => {
    try {
      registration = await navigator.serviceWorker.register('/app/sw.js', { scope: '/app/' })
    } catch {
      return // e.g. plain http on a LAN address: the app still works online
    }
    const reg = registration
    const watch = (w: ServiceWorker | null): void => {
      w?.addEventListener('statechange', () => {
        if (w.state === 'installed' && navigator.serviceWorker.controller) state.updateReady = true
      })
    }
    if (reg.waiting && navigator.serviceWorker.controller) state.updateReady = true
    watch(reg.installing)
    reg.addEventListener('updatefound', () => watch(reg.installing))
    let lastCheck = Date.now()
    const check = (): void => {
      if (Date.now() - lastCheck < 10 * 60_000) return
      lastCheck = Date.now()
      reg.update().catch(() => undefined)
    }
    document.addEventListener('visibilitychange', () => document.visibilityState === 'visible' && check())
    window.addEventListener('online', check)
    setInterval(check, 60 * 60_000)
  }
  navigator.serviceWorker.addEventListener('controllerchange', () => {
    if (userAsked) location.reload()
  })
  if (document.readyState === 'complete') void go()
  else window.addEventListener('load', () => void go(), { once: true })
}

/** The worker accepted the update: the waiting service worker takes over, the page reloads. */
export function applyUpdate(): void {
  userAsked = true
  const waiting = registration?.waiting
  if (waiting) waiting.postMessage({ type: 'SKIP_WAITING' })
  else location.reload()
}
