// Large-font mode (适老化) before the first paint, so nothing jumps. A file, not an inline
// script: the Content-Security-Policy allows scripts from 'self' only. Precached by the SW.
try {
  if (localStorage.getItem('wangge.largeFont') === '1') document.documentElement.classList.add('large-font')
} catch {
  /* private mode */
}
