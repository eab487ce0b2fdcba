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

/** Upload one photo in 1 MiB pieces (resumable API); returns the server's ready state. */
export async function uploadPhoto(file: Blob, filename = 'photo.jpg', onProgress?: (f: number) => void): Promise<UploadState> {
  const id = uuid4()
  let st = await api.createUpload(id, file.size, filename)
  let offset = st.received_bytes
  while (offset < file.size) {
    const piece = new Uint8Array(await file.slice(offset, offset + PIECE).arrayBuffer())
    st = await api.putPiece(id, offset, piece)
    offset = st.received_bytes
    onProgress?.(offset / file.size)
    if (st.status === 'ready') break
  }
  if (st.status !== 'ready') st = await api.uploadState(id)
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

/** A photo's device capture time and watermark flag (issue 17), when the server sends them
 * (`null` when it does not: an older server, or a field it leaves out). */
export function photoMeta(p: object): { capturedAt: string | null; watermarked: boolean | null } {
  const r = p as { captured_at?: unknown; watermarked?: unknown }
  return {
    capturedAt: typeof r.captured_at === 'string' && r.captured_at ? r.captured_at : null,
    watermarked: typeof r.watermarked === 'boolean' ? r.watermarked : null,
  }
}

/** What the full-size viewer shows: the photo's URL and its capture time and watermark flag. */
export interface ViewedPhoto {
  url: string
  capturedAt: string | null
  watermarked: boolean | null
}
