/**
 * The console's live feed (webapp/src/console/live.ts) against a fake fetch: the change stream
 * (Server-Sent Events) with its reconnects, refusals and watchdog, and the long poll it falls
 * back to. Fake timers: every wait is asserted to the millisecond, nothing really sleeps.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { CaseSummary } from '@/shared/types'

type Live = typeof import('@/console/live')
type SessionMock = { session: { expired: boolean }; signInAgain: () => void }

const enc = new TextEncoder()

/** An open event stream the test writes into. */
class Stream {
  private ctrl!: ReadableStreamDefaultController<Uint8Array>
  cancelled = false
  readonly body = new ReadableStream<Uint8Array>({
    start: (c) => {
      this.ctrl = c
    },
    cancel: () => {
      this.cancelled = true
    },
  })
  send(text: string): void {
    this.ctrl.enqueue(enc.encode(text))
  }
  end(): void {
    this.ctrl.close()
  }
  drop(): void {
    this.ctrl.error(new TypeError('network error'))
  }
}

const frame = (cursor: string, items: Array<Partial<CaseSummary>> = []): string =>
  `event: changes\nid: ${cursor}\ndata: ${JSON.stringify({ cursor, items })}\n\n`

interface Call {
  url: URL
  init: RequestInit
}

type Answer = Stream | Response | Error | ((call: Call) => Stream | Response | Error)

/** A fetch that answers in order from `answers`; a request with no answer ready hangs until aborted. */
class FakeFetch {
  calls: Call[] = []
  answers: Answer[] = []
  fetch = async (input: RequestInfo | URL, init: RequestInit = {}): Promise<Response> => {
    const call = { url: new URL(String(input), 'http://console.test'), init }
    this.calls.push(call)
    let a = this.answers.shift()
    if (!a)
      return new Promise<Response>((_, reject) =>
        init.signal?.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError'))),
      )
    if (typeof a === 'function') a = a(call)
    if (a instanceof Error) throw a
    if (a instanceof Stream) return streamResponse(a)
    return a
  }
  get last(): Call {
    return this.calls[this.calls.length - 1]!
  }
}

function streamResponse(s: Stream): Response {
  // the shape fetch gives (a real Response body is the same ReadableStream)
  return {
    status: 200,
    ok: true,
    headers: new Headers({ 'Content-Type': 'text/event-stream; charset=utf-8' }),
    body: s.body,
  } as unknown as Response
}

const json = (status: number, body: unknown, headers: Record<string, string> = {}): Response =>
  new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json', ...headers } })

/** Let promises run (reads, parses, reconnects) without moving the clock. */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await vi.advanceTimersByTimeAsync(0)
}

/** The session without the console's i18n and sign-in pages: a client and a sign-in the test answers. */
async function fakeSession() {
  const { reactive } = await import('vue')
  const { ApiClient } = await import('@/shared/api')
  let signIn: () => void = () => undefined
  const session = reactive({ user: { id: 1 }, expired: false })
  return {
    api: new ApiClient(),
    session,
    waitForLogin: () =>
      new Promise<void>((r) => {
        signIn = () => {
          session.expired = false
          r()
        }
      }),
    signInAgain: () => signIn(),
  }
}

let mod: Live
let sess: SessionMock
let net: FakeFetch
let seen: string[][]

beforeEach(async () => {
  vi.useFakeTimers()
  vi.resetModules()
  vi.doMock('@/console/session', fakeSession) // fresh per test, with the fresh '@/shared/api'
  net = new FakeFetch()
  vi.stubGlobal('fetch', net.fetch)
  mod = await import('@/console/live')
  sess = (await import('@/console/session')) as unknown as SessionMock
  seen = []
  mod.onChanges((items) => seen.push(items.map((c) => String(c.id))))
})

afterEach(() => {
  mod.stopLive()
  vi.unstubAllGlobals()
  vi.useRealTimers()
})

describe('live feed over the change stream', () => {
  it('opens the stream without a cursor, keeps the first frame to itself and hands on later changes', async () => {
    const s = new Stream()
    net.answers.push(s)
    void mod.startLive()
    await settle()
    expect(net.calls).toHaveLength(1)
    expect(net.last.url.pathname).toBe('/api/v1/changes/stream')
    expect(net.last.url.searchParams.has('after')).toBe(false)
    expect(net.last.init.credentials).toBe('same-origin')
    expect((net.last.init.headers as Record<string, string>).Accept).toBe('text/event-stream')
    expect(mod.live.running).toBe(true)

    s.send(frame('100', [{ id: 9 }])) // the first frame: the cursor only, even were it to carry items
    await settle()
    expect(seen).toEqual([])
    expect(mod.live.ok).toBe(true)
    expect(mod.live.lastAt).toBe(Date.now())

    // a frame split across reads, then two in one read
    const f = frame('101', [{ id: 1 }, { id: 2 }])
    s.send(f.slice(0, 20))
    await settle()
    expect(seen).toEqual([])
    s.send(f.slice(20) + ': ping\n\n' + frame('102', [{ id: 3 }]))
    await settle()
    expect(seen).toEqual([['1', '2'], ['3']])
    expect(net.calls).toHaveLength(1)
  })

  it('reconnects at once with the last cursor when the server ends a stream; no backoff, still live', async () => {
    const s1 = new Stream()
    const s2 = new Stream()
    net.answers.push(s1, s2)
    void mod.startLive()
    await settle()
    s1.send(frame('7'))
    s1.send(frame('8', [{ id: 4 }]))
    s1.end()
    await settle() // no clock moved: the reconnect does not wait
    expect(net.calls).toHaveLength(2)
    expect(net.last.url.searchParams.get('after')).toBe('8')
    expect(mod.live.ok).toBe(true)
    // with a cursor, the new stream's first frame is news and goes to the pages
    s2.send(frame('9', [{ id: 5 }]))
    await settle()
    expect(seen).toEqual([['4'], ['5']])
  })

  it('a stream that ends before any frame is a failure: it backs off instead of spinning', async () => {
    const s1 = new Stream()
    net.answers.push(s1, new Stream())
    void mod.startLive()
    await settle()
    s1.end()
    await settle()
    expect(net.calls).toHaveLength(1)
    expect(mod.live.ok).toBe(false)
    await vi.advanceTimersByTimeAsync(1000)
    expect(net.calls).toHaveLength(2)
  })

  it('signed_out: the sign-in dialog, then the same cursor again', async () => {
    const s1 = new Stream()
    net.answers.push(s1, new Stream())
    void mod.startLive()
    await settle()
    s1.send(frame('20'))
    s1.send('event: signed_out\ndata: {}\n\n')
    await settle()
    expect(sess.session.expired).toBe(true)
    expect(mod.live.ok).toBe(false)
    expect(s1.cancelled).toBe(true)
    await vi.advanceTimersByTimeAsync(60_000)
    expect(net.calls).toHaveLength(1) // nothing until somebody signs in
    sess.signInAgain()
    await settle()
    expect(net.calls).toHaveLength(2)
    expect(net.last.url.searchParams.get('after')).toBe('20')
  })

  it('401 on opening the stream is the same as signed_out', async () => {
    net.answers.push(json(401, { error: 'unauthorized', message: '请先登录 / sign in first' }), new Stream())
    void mod.startLive()
    await settle()
    expect(sess.session.expired).toBe(true)
    expect(mod.live.ok).toBe(false)
    sess.signInAgain()
    await settle()
    expect(net.calls).toHaveLength(2)
  })

  it('429: waits the retry_after the server gives, then tries again with the cursor', async () => {
    const s1 = new Stream()
    net.answers.push(s1, json(429, { error: 'too_many_streams', message: '', retry_after: 7 }, { 'Retry-After': '7' }), new Stream())
    void mod.startLive()
    await settle()
    s1.send(frame('30'))
    s1.end()
    await settle()
    expect(net.calls).toHaveLength(2)
    await vi.advanceTimersByTimeAsync(6999)
    expect(net.calls).toHaveLength(2)
    await vi.advanceTimersByTimeAsync(1)
    expect(net.calls).toHaveLength(3)
    expect(net.last.url.searchParams.get('after')).toBe('30')
  })

  it('429 without a body: the Retry-After header says how long', async () => {
    net.answers.push(new Response('', { status: 429, headers: { 'Retry-After': '3' } }), new Stream())
    void mod.startLive()
    await settle()
    await vi.advanceTimersByTimeAsync(2999)
    expect(net.calls).toHaveLength(1)
    await vi.advanceTimersByTimeAsync(1)
    expect(net.calls).toHaveLength(2)
  })

  it('network errors and 5xx: not live, backing off 1 s doubling to 10 s; a frame resets it', async () => {
    const s = new Stream()
    net.answers.push(
      new TypeError('Failed to fetch'),
      json(503, { error: 'feed_starting', message: '' }),
      new TypeError('Failed to fetch'),
      new TypeError('Failed to fetch'),
      new TypeError('Failed to fetch'),
      new TypeError('Failed to fetch'),
      s,
      new TypeError('Failed to fetch'),
    )
    void mod.startLive()
    await settle()
    expect(mod.live.ok).toBe(false)
    const waits: number[] = []
    let at = Date.now()
    for (let n = 2; n <= 7; n++) {
      while (net.calls.length < n) await vi.advanceTimersByTimeAsync(100)
      waits.push(Date.now() - at)
      at = Date.now()
    }
    expect(waits).toEqual([1000, 2000, 4000, 8000, 10_000, 10_000])
    s.send(frame('40'))
    await settle()
    expect(mod.live.ok).toBe(true)
    s.drop() // the connection dies mid-stream
    await settle()
    expect(mod.live.ok).toBe(false)
    await vi.advanceTimersByTimeAsync(999)
    expect(net.calls).toHaveLength(7)
    await vi.advanceTimersByTimeAsync(1)
    expect(net.calls).toHaveLength(8)
    expect(net.last.url.searchParams.get('after')).toBe('40')
  })

  it('watchdog: pings keep a quiet stream open; 45 s of silence aborts it and reconnects', async () => {
    const s1 = new Stream()
    net.answers.push(s1, new Stream())
    void mod.startLive()
    await settle()
    s1.send(frame('50'))
    await settle()
    for (let i = 0; i < 6; i++) {
      await vi.advanceTimersByTimeAsync(15_000)
      s1.send(': ping\n\n')
    }
    await settle()
    expect(net.calls).toHaveLength(1)
    expect(mod.live.ok).toBe(true)
    await vi.advanceTimersByTimeAsync(44_999)
    expect(s1.cancelled).toBe(false)
    await vi.advanceTimersByTimeAsync(1)
    expect(s1.cancelled).toBe(true)
    expect(mod.live.ok).toBe(false)
    await vi.advanceTimersByTimeAsync(1000)
    expect(net.calls).toHaveLength(2)
    expect(net.last.url.searchParams.get('after')).toBe('50')
  })

  it('watchdog also covers a server that never answers the request', async () => {
    void mod.startLive()
    await settle()
    const signal = net.last.init.signal!
    await vi.advanceTimersByTimeAsync(44_999)
    expect(signal.aborted).toBe(false)
    await vi.advanceTimersByTimeAsync(1)
    expect(signal.aborted).toBe(true)
    expect(mod.live.ok).toBe(false)
    await vi.advanceTimersByTimeAsync(1000)
    expect(net.calls).toHaveLength(2)
  })

  it('stopLive aborts the open stream and no reconnect follows', async () => {
    const s = new Stream()
    net.answers.push(s, new Stream())
    const run = mod.startLive()
    await settle()
    s.send(frame('60'))
    await settle()
    mod.stopLive()
    await settle()
    await run
    expect(s.cancelled).toBe(true)
    expect(net.calls[0]!.init.signal!.aborted).toBe(true)
    expect(mod.live.running).toBe(false)
    await vi.advanceTimersByTimeAsync(60_000)
    expect(net.calls).toHaveLength(1)
  })
})

describe('long poll fallback', () => {
  const poll = (cursor: string, items: Array<Partial<CaseSummary>> = []) => json(200, { cursor, items })

  it('404 on the stream: the long poll, first without waiting, then with the cursor and wait=20', async () => {
    net.answers.push(json(404, { error: 'not_found', message: '' }), poll('70', [{ id: 1 }]), poll('71', [{ id: 2 }]))
    void mod.startLive()
    await settle()
    expect(net.calls.map((c) => c.url.pathname)).toEqual(['/api/v1/changes/stream', '/api/v1/changes', '/api/v1/changes', '/api/v1/changes'])
    expect(net.calls[1]!.url.searchParams.get('wait')).toBe('0')
    expect(net.calls[2]!.url.searchParams.get('after')).toBe('70')
    expect(net.calls[2]!.url.searchParams.get('wait')).toBe('20')
    expect(net.calls[3]!.url.searchParams.get('after')).toBe('71')
    expect(seen).toEqual([['2']])
    expect(mod.live.ok).toBe(true)
  })

  it('a fetch that cannot stream (no body reader): the long poll, from the cursor the stream had', async () => {
    const s1 = new Stream()
    const noReader = { status: 200, ok: true, headers: new Headers({ 'Content-Type': 'text/event-stream' }), body: null } as unknown as Response
    net.answers.push(s1, noReader, poll('81'))
    void mod.startLive()
    await settle()
    s1.send(frame('80'))
    s1.end()
    await settle()
    expect(net.calls[2]!.url.pathname).toBe('/api/v1/changes')
    expect(net.calls[2]!.url.searchParams.get('after')).toBe('80')
    expect(net.calls[2]!.url.searchParams.get('wait')).toBe('20')
  })

  it('after FALLBACK_MS on the long poll, the stream again, from the cursor the poll had', async () => {
    const s = new Stream()
    const later = (): Response => {
      vi.setSystemTime(Date.now() + mod.FALLBACK_MS) // this poll answers when the time is up
      return poll('71', [{ id: 3 }])
    }
    net.answers.push(json(404, {}), poll('70'), later, s)
    void mod.startLive()
    await settle()
    expect(net.calls.map((c) => c.url.pathname)).toEqual(['/api/v1/changes/stream', '/api/v1/changes', '/api/v1/changes', '/api/v1/changes/stream'])
    expect(net.last.url.searchParams.get('after')).toBe('71')
    s.send(frame('72', [{ id: 4 }]))
    await settle()
    expect(seen).toEqual([['3'], ['4']])
    expect(mod.live.ok).toBe(true)
  })

  it("the long poll's own refusal (retry_after) and 401 keep their old behaviour", async () => {
    net.answers.push(json(404, {}), poll('90'), json(200, { cursor: '90', items: [], retry_after: 5 }), json(401, { error: 'unauthorized', message: '' }), poll('91'))
    void mod.startLive()
    await settle()
    expect(net.calls).toHaveLength(3)
    await vi.advanceTimersByTimeAsync(5000)
    await settle()
    expect(net.calls).toHaveLength(4)
    expect(sess.session.expired).toBe(true)
    sess.signInAgain()
    await settle()
    expect(net.calls.slice(4).map((c) => c.url.searchParams.get('after'))).toEqual(['90', '91'])
  })
})
