/**
 * Live updates: one stream of changes for the whole console (Server-Sent Events,
 * `GET /changes/stream?after=CURSOR`, issue 13); pages subscribe to the changed case summaries.
 * `live.ok` drives the "live" indicator in the top bar.
 *
 * - Each `changes` frame is the long poll's answer (`{cursor, items}`); the first frame of a
 *   stream opened without a cursor only gives the cursor (its items reach nobody, as before).
 * - The server ends a stream after some minutes: reconnect at once with the last cursor (no
 *   backoff, `live.ok` unchanged). A stream that ends before its first frame counts as a failure,
 *   so a proxy closing every stream at once cannot make the console spin.
 * - Nothing at all (not even the 15 s `: ping`) for 45 s: the connection is dead; abort it.
 * - Network error, 5xx, silence: `live.ok` false, back off 1 s doubling to 10 s.
 * - 401 or a `signed_out` frame: the sign-in dialog, then go on from the same cursor.
 * - 429 (too many open streams): wait what the server says (`retry_after`), then try again.
 * - 404, an answer that is not an event stream, or a browser whose fetch cannot stream: the
 *   long poll (`GET /changes?after=CURSOR&wait=20`), and after 5 minutes of it the stream again
 *   (a proxy's error page or a server mid-upgrade must not leave the console on the poll for the
 *   rest of the day).
 */
import { reactive } from 'vue'
import { ApiError, buildQuery } from '@/shared/api'
import { SseParser } from '@/shared/sse'
import type { CaseSummary } from '@/shared/types'
import { api, session, waitForLogin } from './session'

type Listener = (items: CaseSummary[]) => void

interface ChangesBody {
  cursor: string
  items: CaseSummary[]
  retry_after?: number
}

export const live = reactive({ ok: true, running: false, lastAt: 0 })
const listeners = new Set<Listener>()
let cursor = ''
/** The current run; aborted by stopLive (an open stream, a wait). */
let run: AbortController | null = null

/** Silence (no byte, not even a ping) after which a stream is taken for dead. */
export const STREAM_SILENCE_MS = 45_000
const BACKOFF_FIRST_MS = 1000
const BACKOFF_MAX_MS = 10_000
/** A 429 without a usable `retry_after`; any answer is held to 1–60 s. */
const BUSY_DEFAULT_S = 5
const BUSY_MAX_S = 60
/** How long the console stays on the long poll before it tries the stream again. */
export const FALLBACK_MS = 5 * 60_000

export function onChanges(fn: Listener): () => void {
  listeners.add(fn)
  return () => listeners.delete(fn)
}

export async function startLive(): Promise<void> {
  if (run && !run.signal.aborted) return
  const mine = new AbortController()
  run = mine
  live.running = true
  try {
    while ((await streamLoop(mine.signal)) === 'fallback') await pollLoop(mine.signal, FALLBACK_MS)
  } finally {
    if (run === mine) {
      run = null
      live.running = false
    }
  }
}

/** Stop the live feed: an open stream is aborted at once, a wait ends. */
export function stopLive(): void {
  run?.abort()
  run = null
  live.running = false
}

// --- the stream ------------------------------------------------------------------------------

type Outcome =
  /** The server closed a stream that had worked: reconnect at once. */
  | 'ended'
  | 'failed'
  | 'signed_out'
  | { busy: number }
  | 'fallback'
  | 'stopped'

async function streamLoop(signal: AbortSignal): Promise<'fallback' | 'stopped'> {
  let backoff = BACKOFF_FIRST_MS
  while (!signal.aborted) {
    const { outcome, delivered } = await streamOnce(signal)
    if (signal.aborted || outcome === 'stopped') break
    if (delivered) backoff = BACKOFF_FIRST_MS
    if (outcome === 'fallback') return 'fallback'
    if (outcome === 'ended') continue
    live.ok = false
    if (outcome === 'signed_out') {
      session.expired = true
      await loggedIn(signal)
    } else if (outcome === 'failed') {
      await sleep(backoff, signal)
      backoff = Math.min(backoff * 2, BACKOFF_MAX_MS)
    } else await sleep(outcome.busy * 1000, signal)
  }
  return 'stopped'
}

/** One connection, from the request to its end. `delivered`: at least one `changes` frame. */
async function streamOnce(signal: AbortSignal): Promise<{ outcome: Outcome; delivered: boolean }> {
  const conn = new AbortController()
  let reader: ReadableStreamDefaultReader<Uint8Array> | null = null
  const abort = (): void => {
    conn.abort()
    release(reader) // a pending read ends now, whatever the fetch does with the signal
  }
  signal.addEventListener('abort', abort, { once: true })
  let delivered = false
  let silent = false
  let timer: ReturnType<typeof setTimeout> | undefined
  const watch = (): void => {
    clearTimeout(timer)
    timer = setTimeout(() => {
      silent = true
      abort()
    }, STREAM_SILENCE_MS)
  }
  const done = (outcome: Outcome) => ({ outcome: signal.aborted ? 'stopped' : outcome, delivered })
  try {
    watch() // a server that never answers is as dead as one that stops talking
    let resp: Response
    try {
      resp = await globalThis.fetch(api.base + '/changes/stream' + buildQuery({ after: cursor }), {
        method: 'GET',
        headers: { Accept: 'text/event-stream' },
        credentials: 'same-origin',
        cache: 'no-store',
        signal: conn.signal,
      })
    } catch {
      return done('failed')
    }
    if (resp.status === 429) return done({ busy: await busySeconds(resp) })
    if (!resp.ok) {
      release(resp.body)
      return done(resp.status === 404 ? 'fallback' : resp.status === 401 ? 'signed_out' : 'failed')
    }
    const body = resp.body
    const type = resp.headers.get('Content-Type') ?? ''
    if (!type.includes('text/event-stream') || !body || typeof body.getReader !== 'function') {
      // a server without the stream that answers 200 anyway, or a fetch that cannot stream
      release(body)
      return done('fallback')
    }
    reader = body.getReader()
    const decoder = new TextDecoder()
    let stop: Outcome | null = null
    const parser = new SseParser({
      onEvent: (e) => {
        if (stop) return
        if (e.event === 'signed_out') stop = 'signed_out'
        else if (e.event === 'changes') {
          const answer = changesOf(e.data, e.id)
          if (!answer) stop = 'failed' // reconnect from the last good cursor
          else {
            take(answer)
            delivered = true
          }
        }
      },
    })
    for (;;) {
      const { done: end, value } = await reader.read()
      if (signal.aborted) return done('stopped')
      if (silent) return done('failed')
      if (end) break
      watch()
      parser.feed(decoder.decode(value, { stream: true }))
      if (stop) return done(stop)
    }
    parser.feed(decoder.decode())
    return done(delivered ? 'ended' : 'failed')
  } catch {
    return done('failed') // the connection dropped mid-stream (or the watchdog aborted it)
  } finally {
    clearTimeout(timer)
    signal.removeEventListener('abort', abort)
    release(reader)
    conn.abort()
  }
}

function changesOf(data: string, id: string): ChangesBody | null {
  let body: unknown
  try {
    body = JSON.parse(data)
  } catch {
    return null
  }
  if (!body || typeof body !== 'object') return null
  const b = body as Partial<ChangesBody>
  const at = b.cursor != null && b.cursor !== '' ? String(b.cursor) : id
  if (!at) return null
  return { cursor: at, items: Array.isArray(b.items) ? b.items : [] }
}

async function busySeconds(resp: Response): Promise<number> {
  let seconds = NaN
  try {
    const body = (await resp.json()) as { retry_after?: unknown }
    seconds = Number(body?.retry_after)
  } catch {
    // not JSON: the header says it
  }
  if (!Number.isFinite(seconds) || seconds <= 0) seconds = Number(resp.headers.get('Retry-After'))
  if (!Number.isFinite(seconds) || seconds <= 0) seconds = BUSY_DEFAULT_S
  return Math.min(Math.max(seconds, 1), BUSY_MAX_S)
}

// --- the long poll (a server or browser without the stream) ---------------------------------

/** Poll until `signal` or, checked between polls, `forMs` has passed. */
async function pollLoop(signal: AbortSignal, forMs: number): Promise<void> {
  const until = Date.now() + forMs
  let backoff = BACKOFF_FIRST_MS
  while (!signal.aborted && Date.now() < until) {
    try {
      const { data } = await api.request<ChangesBody>('GET', '/changes', {
        query: { after: cursor, wait: cursor ? 20 : 0 },
        timeoutMs: 35_000,
      })
      if (signal.aborted) break
      take(data)
      backoff = BACKOFF_FIRST_MS
      // The server refused to hold this poll open (too many waiting): wait as it says.
      if (data.retry_after) await sleep(Math.min(data.retry_after, BUSY_MAX_S) * 1000, signal)
    } catch (err) {
      if (signal.aborted) break
      live.ok = false
      if (err instanceof ApiError && err.status === 401) {
        session.expired = true
        await loggedIn(signal)
        continue
      }
      await sleep(backoff, signal)
      backoff = Math.min(backoff * 2, BACKOFF_MAX_MS)
    }
  }
}

// --- shared ----------------------------------------------------------------------------------

/** An answer of either kind: move the cursor; changes after the first answer go to the pages. */
function take(body: ChangesBody): void {
  const first = !cursor
  cursor = String(body.cursor)
  live.ok = true
  live.lastAt = Date.now()
  if (first || !body.items?.length) return
  for (const fn of listeners) {
    try {
      fn(body.items)
    } catch (err) {
      console.error('live listener failed', err) // one page's bug must not stop the feed
    }
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve()
    const end = (): void => {
      clearTimeout(t)
      signal.removeEventListener('abort', end)
      resolve()
    }
    const t = setTimeout(end, ms)
    signal.addEventListener('abort', end, { once: true })
  })
}

/** The sign-in dialog answered (or the run was stopped meanwhile). */
function loggedIn(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve()
    const end = (): void => {
      signal.removeEventListener('abort', end)
      resolve()
    }
    signal.addEventListener('abort', end, { once: true })
    void waitForLogin().then(end)
  })
}

/** Let go of a body or reader; it may already be closed, or (an old browser) have no cancel. */
function release(stream: { cancel?: () => Promise<void> } | null | undefined): void {
  try {
    stream?.cancel?.().catch(() => undefined)
  } catch {
    // nothing to release
  }
}
