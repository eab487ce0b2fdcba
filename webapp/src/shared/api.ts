/**
 * Typed client for the JSON API (docs/api.md): cookie session, the CSRF token in X-CSRFToken on
 * every state change (refreshed once and retried when the server says `csrf_failed`, e.g. after
 * a browser restart dropped the session cookie but the remember cookie signed us back in), JSON
 * errors as ApiError and "no answer at all" as NetworkError.
 */
import type {
  ActionAnswer,
  AddressHit,
  AuthAnswer,
  Bootstrap,
  CaseDetail,
  CaseSummary,
  GridCollection,
  NewAction,
  NewCase,
  Page,
  UploadState,
} from './types'

/** The server answered with an error (JSON body `{"error", "message", "fields", ...}`). */
export class ApiError extends Error {
  readonly status: number
  readonly code: string
  readonly fields: Record<string, string>
  readonly body: Record<string, unknown>
  readonly retryAfter: number | null

  constructor(status: number, body: Record<string, unknown>, retryAfter: number | null = null) {
    const message = typeof body.message === 'string' && body.message ? body.message : `HTTP ${status}`
    super(message)
    this.name = 'ApiError'
    this.status = status
    this.code = typeof body.error === 'string' ? body.error : `http_${status}`
    this.fields = (body.fields && typeof body.fields === 'object' ? body.fields : {}) as Record<string, string>
    this.body = body
    this.retryAfter = retryAfter
  }

  /** The Chinese half of a "中文 / English" server message. */
  get zh(): string {
    return zhPart(this.message)
  }

  /** The message in one language (the server's messages are "中文 / English"). */
  text(lang: Lang): string {
    return inLang(this.message, lang)
  }

  /** Each field's problem in one language. */
  fieldsIn(lang: Lang): Record<string, string> {
    const out: Record<string, string> = {}
    for (const [k, v] of Object.entries(this.fields)) out[k] = inLang(String(v), lang)
    return out
  }
}

export type Lang = 'zh' | 'en'

/**
 * "中文 / English" → the half for `lang`; a text without the separator is returned as is.
 * Each app shows its own language only (issue 14): every server message passes through here.
 */
export function inLang(message: string, lang: Lang): string {
  const i = message.indexOf(' / ')
  if (i < 0) return message
  return lang === 'zh' ? message.slice(0, i) : message.slice(i + 3)
}

/** No answer: offline, DNS, connection reset, timeout, server killed mid-request. */
export class NetworkError extends Error {
  constructor(message = '网络不可用 / network unavailable') {
    super(message)
    this.name = 'NetworkError'
  }
}

export function zhPart(message: string): string {
  const i = message.indexOf(' / ')
  return i > 0 ? message.slice(0, i) : message
}

export interface ApiClientOptions {
  base?: string
  fetch?: typeof fetch
  /** Request timeout (ms); a piece upload gets `uploadTimeoutMs`. */
  timeoutMs?: number
  uploadTimeoutMs?: number
  getCsrf?: () => string | null
  setCsrf?: (token: string) => void
  onUnauthorized?: () => void
}

export interface RequestOptions {
  json?: unknown
  body?: BodyInit
  headers?: Record<string, string>
  query?: Record<string, string | number | boolean | undefined | null | Array<string | number>>
  timeoutMs?: number
  /** Extra statuses that are not errors (e.g. 304). */
  accept?: number[]
}

export interface Answer<T> {
  status: number
  data: T
  headers: Headers
}

const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE'])

export function buildQuery(query: RequestOptions['query']): string {
  if (!query) return ''
  const params = new URLSearchParams()
  for (const [k, v] of Object.entries(query)) {
    if (v === undefined || v === null || v === '') continue
    if (Array.isArray(v)) params.set(k, v.join(','))
    else params.set(k, String(v))
  }
  const s = params.toString()
  return s ? `?${s}` : ''
}

export class ApiClient {
  readonly base: string
  private readonly fetchImpl: typeof fetch
  private readonly timeoutMs: number
  private readonly uploadTimeoutMs: number
  private csrf: string | null = null
  private readonly opts: ApiClientOptions

  constructor(opts: ApiClientOptions = {}) {
    this.opts = opts
    this.base = opts.base ?? '/api/v1'
    this.fetchImpl = opts.fetch ?? ((...args) => globalThis.fetch(...args))
    this.timeoutMs = opts.timeoutMs ?? 30_000
    this.uploadTimeoutMs = opts.uploadTimeoutMs ?? 90_000
  }

  get csrfToken(): string | null {
    return this.opts.getCsrf ? this.opts.getCsrf() : this.csrf
  }

  set csrfToken(token: string | null) {
    this.csrf = token
    if (token && this.opts.setCsrf) this.opts.setCsrf(token)
  }

  async request<T>(method: string, path: string, opts: RequestOptions = {}, retried = false): Promise<Answer<T>> {
    const headers: Record<string, string> = { Accept: 'application/json', ...opts.headers }
    let body = opts.body
    if (opts.json !== undefined) {
      headers['Content-Type'] = 'application/json'
      body = JSON.stringify(opts.json)
    }
    if (UNSAFE.has(method)) {
      const token = this.csrfToken
      if (token) headers['X-CSRFToken'] = token
    }
    const url = this.base + path + buildQuery(opts.query)
    const ctrl = typeof AbortController !== 'undefined' ? new AbortController() : null
    const timeout = opts.timeoutMs ?? this.timeoutMs
    const timer = ctrl ? setTimeout(() => ctrl.abort(), timeout) : null
    let resp: Response
    try {
      resp = await this.fetchImpl(url, {
        method,
        headers,
        body,
        credentials: 'same-origin',
        cache: 'no-store',
        signal: ctrl?.signal,
      })
    } catch (err) {
      throw new NetworkError(err instanceof Error && err.name === 'AbortError' ? '请求超时 / timed out' : undefined)
    } finally {
      if (timer) clearTimeout(timer)
    }
    let data: unknown = null
    const type = resp.headers.get('Content-Type') ?? ''
    if (resp.status !== 204 && resp.status !== 304) {
      let text: string
      try {
        text = await resp.text()
      } catch {
        throw new NetworkError('连接中断 / connection dropped')
      }
      if (type.includes('json') && text) {
        try {
          data = JSON.parse(text)
        } catch {
          data = null
        }
      } else data = text
    }
    if (resp.ok || opts.accept?.includes(resp.status)) {
      return { status: resp.status, data: data as T, headers: resp.headers }
    }
    const errBody: Record<string, unknown> =
      data && typeof data === 'object' ? (data as Record<string, unknown>) : { error: `http_${resp.status}`, message: '' }
    if (!type.includes('json') && resp.status >= 500) {
      errBody.message = `服务器暂时不可用（${resp.status}）/ server unavailable`
    } else if (!type.includes('json') && resp.status >= 400 && !errBody.message) {
      errBody.message = `请求失败（${resp.status}）`
    }
    const ra = resp.headers.get('Retry-After')
    const retryAfter = ra && /^\d+$/.test(ra) ? Number(ra) : null
    const err = new ApiError(resp.status, errBody, retryAfter)
    if (err.status === 400 && err.code === 'csrf_failed' && !retried && UNSAFE.has(method)) {
      await this.refreshCsrf()
      return this.request<T>(method, path, opts, true)
    }
    if (err.status === 401) this.opts.onUnauthorized?.()
    throw err
  }

  async refreshCsrf(): Promise<string> {
    const { data } = await this.request<{ csrf_token: string }>('GET', '/auth/csrf')
    this.csrfToken = data.csrf_token
    return data.csrf_token
  }

  // --- auth -----------------------------------------------------------------------------
  async login(username: string, password: string, remember = true): Promise<AuthAnswer> {
    const { data } = await this.request<AuthAnswer>('POST', '/auth/login', { json: { username, password, remember } })
    this.csrfToken = data.csrf_token
    return data
  }

  async me(): Promise<AuthAnswer> {
    const { data } = await this.request<AuthAnswer>('GET', '/auth/me')
    this.csrfToken = data.csrf_token
    return data
  }

  async logout(): Promise<void> {
    await this.request('POST', '/auth/logout')
  }

  // --- reference data -------------------------------------------------------------------
  async bootstrap(): Promise<Bootstrap> {
    const { data } = await this.request<Bootstrap>('GET', '/bootstrap')
    if (data.csrf_token) this.csrfToken = data.csrf_token
    return data
  }

  /** My grids; `null` when unchanged since `etag` (304). */
  async grids(etag?: string | null): Promise<{ etag: string | null; collection: GridCollection } | null> {
    const headers: Record<string, string> = {}
    if (etag) headers['If-None-Match'] = etag
    const ans = await this.request<GridCollection>('GET', '/grids.geojson', {
      query: { mine: 1 },
      headers,
      accept: [304],
    })
    if (ans.status === 304) return null
    return { etag: ans.headers.get('ETag'), collection: ans.data }
  }

  // --- cases ----------------------------------------------------------------------------
  async cases(query: RequestOptions['query']): Promise<Page<CaseSummary>> {
    return (await this.request<Page<CaseSummary>>('GET', '/cases', { query })).data
  }

  async caseDetail(id: number): Promise<CaseDetail> {
    return (await this.request<CaseDetail>('GET', `/cases/${id}`)).data
  }

  async createCase(body: NewCase): Promise<Answer<{ case: CaseSummary }>> {
    return this.request<{ case: CaseSummary }>('POST', '/cases', { json: body })
  }

  /** Places matching an address typed by a call-taker ("幸福路 12 号"), shallowest first. */
  async searchAddresses(q: string, limit = 8): Promise<AddressHit[]> {
    return (await this.request<{ items: AddressHit[] }>('GET', '/base/addresses', { query: { q, limit } })).data.items
  }

  async act(caseId: number, body: NewAction): Promise<Answer<ActionAnswer>> {
    return this.request<ActionAnswer>('POST', `/cases/${caseId}/actions`, { json: body })
  }

  // --- uploads --------------------------------------------------------------------------
  /**
   * Begin (or resume) an upload. `meta` is where and when a field photo was taken
   * (captured_at, lon, lat, accuracy_m, watermarked: issue 17); an old app sends none.
   */
  async createUpload(uuid: string, totalBytes: number, filename?: string, meta?: Record<string, unknown>): Promise<UploadState> {
    return (await this.request<UploadState>('POST', '/uploads', { json: { uuid, total_bytes: totalBytes, filename, ...(meta ?? {}) } })).data
  }

  async uploadState(uuid: string): Promise<UploadState> {
    return (await this.request<UploadState>('GET', `/uploads/${uuid}`)).data
  }

  async putPiece(uuid: string, offset: number, piece: Blob | ArrayBuffer | Uint8Array): Promise<UploadState> {
    return (
      await this.request<UploadState>('PUT', `/uploads/${uuid}`, {
        query: { offset },
        body: piece as BodyInit,
        headers: { 'Content-Type': 'application/octet-stream' },
        timeoutMs: this.uploadTimeoutMs,
      })
    ).data
  }
}
