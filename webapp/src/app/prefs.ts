/** The worker's display preferences on this phone: the large-font mode (适老化). */
import { state } from './store'

// `store` reads this while it is made (an import cycle), so it is a hoisted function that
// needs no module constant: the key is spelled inline.
export function readLargeFont(): boolean {
  try {
    return localStorage.getItem('wangge.largeFont') === '1'
  } catch {
    return false
  }
}

export function setLargeFont(on: boolean): void {
  state.largeFont = on
  try {
    localStorage.setItem('wangge.largeFont', on ? '1' : '0')
  } catch {
    /* private mode */
  }
  document.documentElement.classList.toggle('large-font', on)
}
