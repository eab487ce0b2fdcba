/** Small helpers for the console: form drafts kept across an expired session, photo uploads. */
import { watch, type Ref } from 'vue'
import { api } from './session'
import type { UploadState } from '@/shared/types'

import { uuid4 } from '@/shared/uuid'

const DRAFT_PREFIX = 'wangge.console.draft.'

export function readDraft<T extends object>(key: string): Partial<T> | null {
  try {
    const raw = sessionStorage.getItem(DRAFT_PREFIX + key)
    return raw ? (JSON.parse(raw) as Partial<T>) : null
  } catch {
    return null
  }
}

export function clearDraft(key: string): void {
  try {
    sessionStorage.removeItem(DRAFT_PREFIX + key)
  } catch {
    /* ignore */
  }
}

/**
 * Keep a form's fields in sessionStorage under `key` (restored into `form` at once): a page
 * reload or a session that expired mid-form loses nothing typed. Call `clearDraft` on success.
 */
export function useDraft<T extends object>(key: () => string, form: Ref<T> | T): void {
  const target = (): T => ('value' in (form as Ref<T>) ? (form as Ref<T>).value : (form as T))
  const restore = (): void => {
    const saved = readDraft<T>(key())
    if (saved) Object.assign(target(), saved)
  }
  restore()
  watch(key, restore)
  watch(
    () => JSON.stringify(target()),
    (json) => {
      try {
        sessionStorage.setItem(DRAFT_PREFIX + key(), json)
      } catch {
        /* full or private mode */
      }
    },
  )
}

const PIECE = 1024 * 1024

/** What the console states of every photo it uploads: from the desk (no phone, no watermark). */
export const DESK_UPLOAD = { source: 'desk' } as const

/** The API calls an upload makes (the console's client; a fake in the tests). */
export type UploadClient = Pick<typeof api, 'createUpload' | 'putPiece' | 'uploadState'>

/**
 * Upload one photo in 1 MiB pieces (resumable API); returns the server's ready state. It is
 * stated as a desk upload, so the photo is not taken for one from an old phone app.
 */
export async function uploadPhoto(file: Blob, filename = 'photo.jpg', onProgress?: (f: number) => void, client: UploadClient = api): Promise<UploadState> {
  const id = uuid4()
  let st = await client.createUpload(id, file.size, filename, DESK_UPLOAD)
  let offset = st.received_bytes
  while (offset < file.size) {
    const piece = new Uint8Array(await file.slice(offset, offset + PIECE).arrayBuffer())
    st = await client.putPiece(id, offset, piece)
    offset = st.received_bytes
    onProgress?.(offset / file.size)
    if (st.status === 'ready') break
  }
  if (st.status !== 'ready') st = await client.uploadState(id)
  return st
}

export function debounce<A extends unknown[]>(fn: (...a: A) => void, ms: number): (...a: A) => void {
  let timer: ReturnType<typeof setTimeout> | null = null
  return (...a: A) => {
    if (timer) clearTimeout(timer)
    timer = setTimeout(() => fn(...a), ms)
  }
}

/** True when the key event comes from a text field (shortcuts must not fire there). */
export function typing(e: KeyboardEvent): boolean {
  const el = e.target as HTMLElement | null
  if (!el) return false
  const tag = el.tagName
  return tag === 'INPUT' || tag === 'TEXTAREA' || tag === 'SELECT' || el.isContentEditable
}

const FIELD_ZH: Record<string, string> = {
  required: '必填',
  unknown: '无效',
  'unknown or inactive': '无效或已停用',
  retired: '已停用，请改选',
  text: '应为文本',
  'not a UUID': '无效',
  'outside your grids': '不在您的网格内',
}

/** A server field problem in the UI language ("中文 / English" halves, or a known English token). */
export function fieldText(v: string | undefined, zh: boolean): string {
  if (!v) return ''
  const i = v.indexOf(' / ')
  if (i > 0) return zh ? v.slice(0, i) : v.slice(i + 3)
  return zh ? (FIELD_ZH[v] ?? v) : v
}

/** A form's keydown handler: Ctrl+Enter (⌘+Enter) submits it, from any field. */
export function submitOnCtrlEnter(submit: () => unknown): (e: KeyboardEvent) => void {
  return (e) => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
      e.preventDefault()
      void submit()
    }
  }
}

/** Where a photo was uploaded from, as the app stated it (null: not stated, an old app). */
export type PhotoSource = 'field' | 'desk'

/** A photo's device capture time, watermark flag and source (issue 17), when the server sends
 * them (`null` when it does not: an older server, or a field it leaves out). */
export function photoMeta(p: object): { capturedAt: string | null; watermarked: boolean | null; source: PhotoSource | null } {
  const r = p as { captured_at?: unknown; watermarked?: unknown; source?: unknown }
  return {
    capturedAt: typeof r.captured_at === 'string' && r.captured_at ? r.captured_at : null,
    watermarked: typeof r.watermarked === 'boolean' ? r.watermarked : null,
    source: r.source === 'field' || r.source === 'desk' ? r.source : null,
  }
}

/**
 * The flag under a photo without a watermark (i18n keys, label and hint): uploaded at the desk
 * (no phone took it), else from a phone app too old to draw one; null for a watermarked photo
 * or when the server does not say.
 */
export function noWatermarkFlag(m: { watermarked?: boolean | null; source?: PhotoSource | null }): { label: 'photo_desk_upload' | 'photo_no_watermark'; hint: 'photo_desk_upload_hint' | 'photo_no_watermark_hint' } | null {
  if (m.watermarked !== false) return null
  return m.source === 'desk' ? { label: 'photo_desk_upload', hint: 'photo_desk_upload_hint' } : { label: 'photo_no_watermark', hint: 'photo_no_watermark_hint' }
}

/** What the full-size viewer shows: the photo's URL and its capture time, watermark flag, source. */
export interface ViewedPhoto {
  url: string
  capturedAt: string | null
  watermarked: boolean | null
  source: PhotoSource | null
}
