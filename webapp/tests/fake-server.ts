/**
 * A fake of the server's API (docs/api.md) behind a fake `fetch`, for the outbox tests: uploads
 * in pieces, idempotent cases and actions by UUID, versions and conflicts, and injected faults
 * (network errors, 5xx, lost answers after the server did the work).
 */
import type { CaseSummary } from '@/shared/types'

type Fault =
  | { kind: 'network' } // nothing reaches the server
  | { kind: 'status'; status: number; body?: unknown; headers?: Record<string, string> }
  | { kind: 'lost' } // the server does the work, the answer never arrives

interface Rule {
  match: (method: string, path: string) => boolean
  fault: Fault
  times: number
}

interface Upload {
  total: number
  data: Uint8Array
  received: number
  ready: boolean
}

export interface LoggedRequest {
  method: string
  path: string
  query: URLSearchParams
  body: unknown
  headers: Record<string, string>
}

export class FakeServer {
  uploads = new Map<string, Upload>()
  cases: CaseSummary[] = []
  byUuid = new Map<string, { status: number; body: unknown; content: string }>()
  log: LoggedRequest[] = []
  rules: Rule[] = []
  csrf = 'token-1'
  acceptedCsrf = new Set(['token-1'])
  signedIn = true
  retiredCategories = new Set<number>()
  /** How much one action bumps the version (the real server may bump it more than once). */
  versionStep = 1
  residents: Array<Record<string, unknown> & { id: number; version: number }> = []
  patches: Array<Record<string, unknown>> = []
  visits: Array<Record<string, unknown>> = []
  /** Patrols (issue 17) by uuid, their chunks by chunk uuid, check-ins. */
  patrols = new Map<string, { uuid: string; started_at: string; ended_at: string | null; points: number[][]; chunks: string[] }>()
  chunks = new Map<string, { patrol: string; seq: number; content: string; answer: unknown }>()
  checkIns: Array<Record<string, unknown>> = []
  /** A check-in east of this longitude is outside the worker's grid (422 outside_grid). */
  gridEastEdge = 106.5
  private nextId = 1

  /** Fail the next `times` requests that match. */
  fail(match: string | ((method: string, path: string) => boolean), fault: Fault, times = 1): void {
    const fn = typeof match === 'string' ? (m: string, p: string) => `${m} ${p}`.startsWith(match) : match
    this.rules.push({ match: fn, fault, times })
  }

  addCase(partial: Partial<CaseSummary> = {}): CaseSummary {
    const id = this.nextId++
    const c: CaseSummary = {
      id,
      uuid: `seed-${id}`,
      number: `2026${String(id).padStart(8, '0')}`,
      state: 'resolved',
      version: 3,
      category: { id: 1, code: '0101', name: '暴露垃圾' },
      description: 'seed',
      lon: 106.3,
      lat: 38.1,
      grid: null,
      created_at: new Date(0).toISOString(),
      updated_at: new Date(0).toISOString(),
      ...partial,
    }
    this.cases.push(c)
    return c
  }

  requests(prefix: string): LoggedRequest[] {
    return this.log.filter((r) => `${r.method} ${r.path}`.startsWith(prefix))
  }

  fetch = async (input: RequestInfo | URL, init: RequestInit = {}): Promise<Response> => {
    const url = new URL(String(input), 'http://test.local')
    const method = (init.method ?? 'GET').toUpperCase()
    const path = url.pathname.replace(/^\/api\/v1/, '')
    const headers = Object.fromEntries(Object.entries((init.headers ?? {}) as Record<string, string>))
    let body: unknown = init.body
    if (typeof init.body === 'string') body = JSON.parse(init.body)
    this.log.push({ method, path, query: url.searchParams, body, headers })
    const rule = this.rules.find((r) => r.times > 0 && r.match(method, path))
    if (rule) {
      rule.times--
      if (rule.fault.kind === 'network') throw new TypeError('Failed to fetch')
      if (rule.fault.kind === 'status') {
        return json(rule.fault.status, rule.fault.body ?? { error: 'internal_error', message: '服务器内部错误 / internal' }, rule.fault.headers)
      }
      // lost: do the work, then drop the answer
      this.handle(method, path, url.searchParams, body, headers)
      throw new TypeError('Failed to fetch')
    }
    return this.handle(method, path, url.searchParams, body, headers)
  }

  private handle(method: string, path: string, query: URLSearchParams, body: unknown, headers: Record<string, string>): Response {
    if (method === 'GET' && path === '/auth/csrf') {
      this.csrf = `token-${this.acceptedCsrf.size + 1}`
      this.acceptedCsrf.add(this.csrf)
      return json(200, { csrf_token: this.csrf })
    }
    if (!this.signedIn) return json(401, { error: 'unauthorized', message: '请先登录 / sign in first' })
    if (method !== 'GET' && !this.acceptedCsrf.has(headers['X-CSRFToken'] ?? '')) {
      return json(400, { error: 'csrf_failed', message: '缺少或无效的 CSRF 令牌 / missing or invalid CSRF token' })
    }
    let m: RegExpMatchArray | null
    if (method === 'POST' && path === '/uploads') {
      const b = body as { uuid: string; total_bytes: number }
      const existing = this.uploads.get(b.uuid)
      if (existing) return json(200, this.uploadState(b.uuid, existing))
      const up: Upload = { total: b.total_bytes, data: new Uint8Array(b.total_bytes), received: 0, ready: false }
      this.uploads.set(b.uuid, up)
      return json(201, this.uploadState(b.uuid, up))
    }
    if ((m = path.match(/^\/uploads\/([^/]+)$/))) {
      const uuid = m[1]!
      const up = this.uploads.get(uuid)
      if (!up) return json(404, { error: 'not_found', message: '未找到 / not found' })
      if (method === 'GET') return json(200, this.uploadState(uuid, up))
      const offset = Number(query.get('offset'))
      const bytes = new Uint8Array(body as ArrayBuffer)
      if (bytes.byteLength > 1024 * 1024) return json(413, { error: 'too_large', message: '内容过大 / too large' })
      if (offset + bytes.byteLength <= up.received) return json(200, this.uploadState(uuid, up))
      if (offset !== up.received) {
        return json(409, { error: 'bad_offset', message: '偏移不符 / bad offset', received_bytes: up.received })
      }
      up.data.set(bytes, offset)
      up.received += bytes.byteLength
      if (up.received >= up.total) up.ready = true
      return json(200, this.uploadState(uuid, up))
    }
    if (method === 'POST' && path === '/cases') {
      const b = body as { uuid: string; category_id: number; photos: string[]; description: string }
      return this.idempotent(b.uuid, b, () => {
        if (this.retiredCategories.has(b.category_id)) {
          return [400, { error: 'validation_failed', message: '该类别已停用 / category retired', fields: { category_id: '已停用' } }]
        }
        for (const p of b.photos) {
          if (!this.uploads.get(p)?.ready) return [400, { error: 'validation_failed', message: '照片未上传 / photo missing', fields: { photos: p } }]
        }
        const c = this.addCase({ uuid: b.uuid, state: 'reported', version: 1, description: b.description, photo_count: b.photos.length })
        return [201, { case: c }]
      })
    }
    if (method === 'POST' && (m = path.match(/^\/cases\/(\d+)\/actions$/))) {
      const id = Number(m[1])
      const b = body as { uuid: string; action: string; version?: number; passed?: boolean }
      return this.idempotent(b.uuid, b, () => {
        const c = this.cases.find((x) => x.id === id)
        if (!c) return [404, { error: 'not_found', message: '未找到 / not found' }]
        if (b.version != null && b.version !== c.version) {
          return [409, { error: 'stale_version', message: '案件已变化 / the case changed', case: { ...c } }]
        }
        const next: Record<string, [string[], string]> = {
          sign: [['dispatched'], 'in_progress'],
          resolve: [['dispatched', 'in_progress'], 'resolved'],
          verify: [['resolved'], b.passed === false ? 'dispatched' : 'closed'],
          comment: [[c.state], c.state],
        }
        const rule = next[b.action]
        if (!rule || !rule[0].includes(c.state)) {
          return [409, { error: 'invalid_transition', message: '当前状态不能这样操作 / not allowed now', case: { ...c } }]
        }
        c.state = rule[1] as CaseSummary['state']
        c.version += this.versionStep
        return [200, { case: { ...c }, event: { id: c.version, uuid: b.uuid, action: b.action } }]
      })
    }
    // base data (/base/…, issue 16): residents edited on base_version, visits by uuid
    if (method === 'POST' && path === '/base/residents') {
      const b = body as Record<string, unknown> & { uuid: string }
      return this.idempotent(b.uuid, b, () => {
        const r = { id: this.nextId++, uuid: b.uuid, name: b.name, phone: null, relation: b.relation, household_id: b.household_id, version: 1 }
        this.residents.push(r)
        return [201, { resident: { ...r } }]
      })
    }
    if (method === 'PATCH' && (m = path.match(/^\/base\/residents\/(\d+)$/))) {
      const r = this.residents.find((x) => x.id === Number(m![1]))
      if (!r) return json(404, { error: 'not_found', message: '未找到 / not found' })
      const b = body as Record<string, unknown>
      if (b.base_version !== r.version) {
        return json(409, { error: 'version_conflict', message: '该记录已被他人修改 / changed meanwhile', current: { ...r } })
      }
      for (const [k, v] of Object.entries(b)) if (k !== 'base_version' && k !== 'uuid') r[k] = k === 'phone' ? `${String(v).slice(0, 3)}****${String(v).slice(-4)}` : v
      r.version = Number(r.version) + 1
      this.patches.push(b)
      return json(200, { resident: { ...r } })
    }
    if (method === 'POST' && path === '/base/visits') {
      const b = body as Record<string, unknown> & { uuid: string; photos: string[]; raise_case?: { description: string } }
      return this.idempotent(b.uuid, b, () => {
        for (const p of b.photos ?? []) {
          if (!this.uploads.get(p)?.ready) return [400, { error: 'validation_failed', message: '照片未上传 / photo missing', fields: { photos: p } }]
        }
        const c = b.raise_case ? this.addCase({ state: 'reported', version: 1, description: b.raise_case.description }) : null
        const v = { id: this.nextId++, uuid: b.uuid, note: b.note, case_id: c?.id ?? null, photo_count: (b.photos ?? []).length }
        this.visits.push(v)
        return [201, { visit: v, case: c }]
      })
    }
    // patrols (FIELDWORK_CONTRACT): start, track chunks, end
    if (method === 'POST' && path === '/patrols') {
      const b = body as { uuid: string; started_at: string }
      const seen = this.patrols.get(b.uuid)
      const content = JSON.stringify(b)
      if (seen) {
        const first = this.byUuid.get(b.uuid)!
        if (first.content !== content) return json(409, { error: 'idempotency_conflict', message: '编号重复但内容不同 / uuid reused' })
        return json(200, first.body)
      }
      const p = { uuid: b.uuid, started_at: b.started_at, ended_at: null, points: [], chunks: [] }
      this.patrols.set(b.uuid, p)
      const answer = { patrol: { uuid: b.uuid, started_at: b.started_at, ended_at: null, points: 0 } }
      this.byUuid.set(b.uuid, { status: 201, body: answer, content })
      return json(201, answer)
    }
    if (method === 'POST' && (m = path.match(/^\/patrols\/([^/]+)\/track$/))) {
      const p = this.patrols.get(m[1]!)
      if (!p) return json(404, { error: 'patrol_missing', message: '巡查不存在 / patrol missing' })
      const b = body as { uuid: string; seq: number; points: number[][] }
      const content = JSON.stringify(b)
      const seen = this.chunks.get(b.uuid)
      if (seen) {
        if (seen.content !== content) return json(409, { error: 'idempotency_conflict', message: '轨迹段编号重复但内容不同 / chunk uuid reused' })
        return json(200, seen.answer)
      }
      if (p.chunks.some((c) => this.chunks.get(c)?.seq === b.seq)) {
        return json(409, { error: 'seq_conflict', message: '轨迹段序号重复 / seq taken' })
      }
      const dropped: Array<{ index: number; reason: string }> = []
      b.points.forEach((pt, index) => {
        if (p.points.some((q) => q[0] === pt[0])) dropped.push({ index, reason: 'duplicate' })
        else p.points.push(pt)
      })
      p.chunks.push(b.uuid)
      const answer = { chunk: b.uuid, seq: b.seq, accepted: b.points.length - dropped.length, dropped, patrol: { points: p.points.length } }
      this.chunks.set(b.uuid, { patrol: p.uuid, seq: b.seq, content, answer })
      return json(200, answer)
    }
    if (method === 'POST' && (m = path.match(/^\/patrols\/([^/]+)\/end$/))) {
      const p = this.patrols.get(m[1]!)
      if (!p) return json(404, { error: 'patrol_missing', message: '巡查不存在 / patrol missing' })
      const b = body as { ended_at: string }
      if (p.ended_at && p.ended_at !== b.ended_at) return json(409, { error: 'already_ended', message: '巡查已在其他时间结束 / ended at another time' })
      p.ended_at = b.ended_at
      return json(200, { patrol: { uuid: p.uuid, started_at: p.started_at, ended_at: p.ended_at, points: p.points.length } })
    }
    if (method === 'POST' && path === '/check-ins') {
      const b = body as { uuid: string; at: string; lon?: number; lat?: number; reason?: string }
      return this.idempotent(b.uuid, b, () => {
        if (b.lon != null && b.lon > this.gridEastEdge) {
          return [
            422,
            {
              error: 'outside_grid',
              message: '不在您的网格内：离最近的网格“银湖社区第一网格”约 1250 米 / outside your grids',
              nearest_grid: { code: '640104001001', name: '银湖社区第一网格' },
              distance_m: 1250,
            },
          ]
        }
        const day = new Date(Date.parse(b.at) + 8 * 3600_000).toISOString().slice(0, 10)
        const live = this.checkIns.find((x) => x.day === day && x.status !== 'rejected')
        if (live) return [409, { error: 'already_checked_in', message: '当天已签到 / already checked in for that day', existing: live }]
        const c = { id: this.nextId++, uuid: b.uuid, day, at: b.at, status: b.reason ? 'pending' : 'accepted', late: false, makeup: Boolean(b.reason) }
        this.checkIns.push(c)
        return [201, c]
      })
    }
    return json(404, { error: 'not_found', message: '未找到 / not found' })
  }

  private idempotent(uuid: string, body: unknown, run: () => [number, unknown]): Response {
    const content = JSON.stringify(body)
    const seen = this.byUuid.get(uuid)
    if (seen) {
      if (seen.content !== content) return json(409, { error: 'idempotency_conflict', message: '编号重复但内容不同 / uuid reused' })
      return json(200, seen.body, { 'Idempotent-Replay': 'true' })
    }
    const [status, answer] = run()
    if (status < 300) this.byUuid.set(uuid, { status, body: answer, content })
    return json(status, answer)
  }

  private uploadState(uuid: string, up: Upload): Record<string, unknown> {
    return up.ready
      ? { uuid, received_bytes: up.received, status: 'ready', url: `/api/v1/photos/${uuid}`, thumb_url: `/api/v1/photos/${uuid}/thumb` }
      : { uuid, received_bytes: up.received, total_bytes: up.total, status: 'uploading' }
  }
}

function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json', ...headers } })
}
