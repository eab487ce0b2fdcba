import { createApp } from 'vue'
import App from './App.vue'
import { router } from './router'
import { init, refreshAll, requestPersistence, state, startTriggers } from './state'
import { registerServiceWorker } from './sw-register'
import './styles.css'

document.documentElement.classList.toggle('large-font', state.largeFont)

// read-only handle for support and the end-to-end tests (the worker's own data only)
;(window as unknown as { wangge: unknown }).wangge = { state }

const app = createApp(App)
app.use(router)
app.mount('#app')

void init().then(() => {
  startTriggers()
  if (state.session) void refreshAll()
  void requestPersistence()
  registerServiceWorker()
})
