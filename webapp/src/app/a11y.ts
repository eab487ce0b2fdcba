/**
 * Accessible names for controls the app does not render itself (issue 14 item 13, axe-core
 * "aria-command-name"): Vant's popup overlay and close icon and Leaflet's draggable marker are
 * role="button" without a name. A MutationObserver names each one as it appears.
 */
const NAMES: Array<[string, string]> = [
  ['.van-popup__close-icon[role=button]', '关闭'],
  ['.van-overlay[role=button]', '关闭弹窗'],
  ['.van-image-preview__close-icon[role=button]', '关闭'],
  ['.leaflet-marker-icon[role=button]', '位置标记（可拖动）'],
]

function nameAll(root: ParentNode): void {
  for (const [sel, name] of NAMES) {
    root.querySelectorAll(`${sel}:not([aria-label])`).forEach((el) => el.setAttribute('aria-label', name))
  }
}

export function nameUnnamedControls(): void {
  if (typeof MutationObserver === 'undefined') return
  nameAll(document)
  let queued = false
  new MutationObserver(() => {
    if (queued) return
    queued = true
    queueMicrotask(() => {
      queued = false
      nameAll(document)
    })
  }).observe(document.body, { childList: true, subtree: true })
}
