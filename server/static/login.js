// server/templates/login.html: large-font mode (适老化), the same switch as the field app's
// 我的 page (localStorage `wangge.largeFont`, read again by /app/large-font.js). A file, not an
// inline script: the Content-Security-Policy allows scripts from 'self' only.
;(function () {
  var KEY = 'wangge.largeFont'
  function on() {
    try {
      return localStorage.getItem(KEY) === '1'
    } catch (e) {
      return false
    }
  }
  document.documentElement.classList.toggle('large-font', on())
  document.addEventListener('DOMContentLoaded', function () {
    var box = document.getElementById('large-font')
    if (!box) return
    box.checked = on()
    box.addEventListener('change', function () {
      try {
        localStorage.setItem(KEY, box.checked ? '1' : '0')
      } catch (e) {
        /* private mode: this page only */
      }
      document.documentElement.classList.toggle('large-font', box.checked)
    })
  })
})()
