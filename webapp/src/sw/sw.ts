/**
 * The field app's service worker (served at /app/sw.js, scope /app/).
 *
 * - Precaches the app shell: every chunk the field app can load (the lazily loaded map too),
 *   its CSS, icons, manifest and /app/index.html (list compiled in by build/field-sw.ts).
 * - Navigations under /app/ are network-first (a short timeout), falling back to the precached
 *   index.html: online users always get the newest version, offline users still get the app.
 * - /assets/* (hashed, immutable): cache-first; photos the worker has looked at: cache-first with
 *   a size limit; basemap tiles: stale-while-revalidate, limited.
 * - Never touches IndexedDB: the outbox survives any update of this worker.
 * - A new version waits until the page asks it to take over (message SKIP_WAITING, sent when the
 *   worker accepts the "新版本" prompt); the page then reloads once.
 */
import { cleanupOutdatedCaches, matchPrecache, precacheAndRoute } from 'workbox-precaching'
import { registerRoute, setCatchHandler } from 'workbox-routing'
import { CacheFirst, StaleWhileRevalidate } from 'workbox-strategies'
import { ExpirationPlugin } from 'workbox-expiration'

declare const self: ServiceWorkerGlobalScope
declare const __PRECACHE_MANIFEST__: Array<{ url: string; revision: string | null }>

const INDEX = '/app/index.html'

// index.html: network first (3 s timeout), else the precached copy. The network answer is not
// cached: offline, the precached index.html and the precached chunks always belong together.
async function networkFirstPage(request: Request): Promise<Response> {
  const ctrl = new AbortController()
  const timer = setTimeout(() => ctrl.abort(), 3000)
  try {
    const resp = await fetch(request, { signal: ctrl.signal, cache: 'no-cache' })
    if (resp.status < 500) return resp
  } catch {
    // offline, or no answer in time
  } finally {
    clearTimeout(timer)
  }
  return (await matchPrecache(INDEX)) ?? Response.error()
}
// registered before the precache route, which would otherwise answer /app/ from the cache
registerRoute(
  ({ request, url }) => request.mode === 'navigate' && url.pathname.startsWith('/app/'),
  ({ request }) => networkFirstPage(request),
)

precacheAndRoute(__PRECACHE_MANIFEST__, { ignoreURLParametersMatching: [/.*/] })
cleanupOutdatedCaches()

self.addEventListener('message', (event: ExtendableMessageEvent) => {
  const data = event.data as { type?: string } | null
  if (data?.type === 'SKIP_WAITING') void self.skipWaiting()
})

self.addEventListener('activate', (event: ExtendableEvent) => {
  event.waitUntil(self.clients.claim())
})

// hashed assets (also ones of a newer version loaded by a network-first index.html)
registerRoute(
  ({ url }) => url.origin === self.location.origin && url.pathname.startsWith('/assets/'),
  new CacheFirst({
    cacheName: 'wangge-assets',
    plugins: [new ExpirationPlugin({ maxEntries: 200, maxAgeSeconds: 90 * 24 * 3600 })],
  }),
)

// case photos and thumbnails seen by the worker (so a case opens with its photos offline)
registerRoute(
  ({ url }) => url.origin === self.location.origin && url.pathname.startsWith('/api/v1/photos/'),
  new CacheFirst({
    cacheName: 'wangge-photos',
    plugins: [new ExpirationPlugin({ maxEntries: 400, maxAgeSeconds: 30 * 24 * 3600, purgeOnQuotaError: true })],
  }),
)

// basemap tiles (any XYZ source from the configuration): a small offline cache
registerRoute(
  ({ request, url }) =>
    request.destination === 'image' && url.origin !== self.location.origin && /\/\d+\/\d+\/\d+|[?&](TILECOL|tilecol|x)=/.test(url.href),
  new StaleWhileRevalidate({
    cacheName: 'wangge-tiles',
    plugins: [new ExpirationPlugin({ maxEntries: 600, maxAgeSeconds: 30 * 24 * 3600, purgeOnQuotaError: true })],
  }),
)

setCatchHandler(async ({ request }) => {
  if (request.mode === 'navigate') return (await matchPrecache(INDEX)) ?? Response.error()
  return Response.error()
})
