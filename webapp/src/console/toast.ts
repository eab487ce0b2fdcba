import { reactive } from 'vue'

export interface Toast {
  id: number
  text: string
  kind: 'info' | 'error'
}

export const toasts: Toast[] = reactive([])
let seq = 0

export function toast(text: string, kind: Toast['kind'] = 'info', ms = 3500): void {
  const id = ++seq
  toasts.push({ id, text, kind })
  setTimeout(() => {
    const i = toasts.findIndex((t) => t.id === id)
    if (i >= 0) toasts.splice(i, 1)
  }, ms)
}
