/**
 * Keyboard for the console's tables (the queue and the admin tables): j/k or ↑/↓ move the
 * selection, Enter opens (edits) the row, n starts a new record, / focuses the search box, Esc
 * leaves a text field. Keys typed into a field, or while a dialog is open, are left alone.
 */
import { nextTick, onBeforeUnmount, onMounted, watch, type Ref, type WatchSource } from 'vue'
import { typing } from './util'

export interface ListKeys {
  count: () => number
  sel: Ref<number>
  onEnter?: (i: number) => void
  onNew?: () => void
  search?: Ref<HTMLInputElement | null>
  table?: Ref<HTMLElement | null>
  extra?: Record<string, () => void>
  /** Keys are left alone while this says so (e.g. the page is hidden or has its own dialog). */
  paused?: () => boolean
  /** After j/k moved the selection by d rows. */
  onMove?: (d: number) => void
  /** Also bring the selected row into view whenever this changes (e.g. the rows reloaded). */
  follow?: WatchSource<unknown>
}

export function useListKeys(o: ListKeys): void {
  const move = (d: number): void => {
    const n = o.count()
    if (!n) return
    o.sel.value = Math.max(0, Math.min(n - 1, o.sel.value + d))
    intoView()
    o.onMove?.(d)
  }
  const intoView = (): void =>
    void nextTick(() => o.table?.value?.querySelector('tr.sel')?.scrollIntoView({ block: 'nearest' }))
  if (o.follow) watch([o.sel, o.follow], intoView)
  const onKey = (e: KeyboardEvent): void => {
    if (o.paused?.() || document.querySelector('.backdrop')) return
    if (e.key === 'Escape' && typing(e)) {
      ;(e.target as HTMLElement).blur()
      return
    }
    if (typing(e) || e.ctrlKey || e.metaKey || e.altKey) return
    const k = e.key
    if (k === 'j' || k === 'ArrowDown') move(1)
    else if (k === 'k' || k === 'ArrowUp') move(-1)
    else if (k === 'Enter' && o.onEnter && o.count()) o.onEnter(o.sel.value)
    else if (k === 'n' && o.onNew) o.onNew()
    else if (k === '/' && o.search?.value) o.search.value.focus()
    else if (o.extra?.[k]) o.extra[k]!()
    else return
    e.preventDefault()
  }
  onMounted(() => window.addEventListener('keydown', onKey))
  onBeforeUnmount(() => window.removeEventListener('keydown', onKey))
}
