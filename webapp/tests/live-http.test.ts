/**
 * The live feed against a real HTTP server speaking the change stream (node:http, real fetch,
 * real timers): what the fakes of live.test.ts cannot show — a real body stream split by TCP,
 * the server closing it, and stopLive aborting a fetch that is still reading.
 */
import { createServer, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, beforeEach, expect, it, vi } from 'vitest'

let server: Server
let base = ''
const requests: URL[] = []
const open = new Set<ServerResponse>()
let closed = 0

beforeEach(async () => {
  requests.length = 0
  closed = 0
  server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x')
    requests.push(url)
    const after = url.searchParams.get('after')
    res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-store' })
    open.add(res)
    res.on('close', () => {
      open.delete(res)
      closed++
    })
    // first frame at once; CRLF line ends and a frame cut in two writes
    const first = after ? Number(after) + 1 : 10
    res.write(`event: changes\r\nid: ${first}\r\ndata: {"cursor":"${first}","items":${after ? `[{"id":${first}}]` : '[]'}}\r\n\r\n`)
    res.write(': ping\r\n\r\nevent: changes\r\nid: ')
    setTimeout(() => {
      res.write(`${first + 1}\r\ndata: {"cursor":"${first + 1}","items":[{"id":${first + 1}}]}\r\n\r\n`)
      // the first stream ends by itself (as the server does after some minutes); later ones stay open
      if (!after) res.end()
    }, 20)
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1`
  vi.resetModules()
  vi.doMock('@/console/session', async () => {
    const { ApiClient } = await import('@/shared/api')
    return { api: new ApiClient({ base }), session: { expired: false }, waitForLogin: () => Promise.resolve() }
  })
})

afterEach(async () => {
  for (const res of open) res.destroy()
  server.closeAllConnections()
  await new Promise<void>((r) => server.close(() => r()))
})

it('reads frames off a real connection, reconnects with the cursor when it ends, and stopLive closes it', async () => {
  const live = await import('@/console/live')
  const seen: number[] = []
  live.onChanges((items) => seen.push(...items.map((c) => c.id)))
  const run = live.startLive()
  await vi.waitFor(() => expect(seen).toEqual([11, 12, 13]), { timeout: 3000, interval: 10 })
  expect(requests.map((u) => u.searchParams.get('after'))).toEqual([null, '11'])
  expect(live.live.ok).toBe(true)
  expect(open.size).toBe(1)
  live.stopLive()
  await run
  await vi.waitFor(() => expect(open.size).toBe(0), { timeout: 3000, interval: 10 })
  expect(closed).toBe(2)
  expect(live.live.running).toBe(false)
})
