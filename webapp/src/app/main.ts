import { createApp } from 'vue'
import App from './App.vue'
import { nameUnnamedControls } from './a11y'
import { router } from './router'
import { refreshAll } from './cases'
import { base, refreshBase } from './base'
import { checkIns, patrol } from './fieldwork'
import { Role } from '@/shared/vocabulary'
import { adoptServerSession, signInUrl } from './session'
import { init } from './startup'
import { state } from './store'
import { requestPersistence, startTriggers } from './sync'
import { registerServiceWorker } from './sw-register'
import './styles.css'

document.documentElement.classList.toggle('large-font', state.largeFont)

// read-only handle for support and the end-to-end tests (the worker's own data only)
;(window as unknown as { wangge: unknown }).wangge = { state, base, patrol, checkIns }

const app = createApp(App)
app.use(router)
app.mount('#app')
nameUnnamedControls()

void init().then(async () => {
  void requestPersistence()
  registerServiceWorker()
  if (state.dbError) return
  // the session the sign-in page (/login) started on this browser: no second password
  const known = await adoptServerSession()
  if (known === 'signed-out' && !state.session) {
    location.replace(signInUrl())
    return
  }
  startTriggers()
  if (state.session && known !== 'signed-out') {
    void refreshAll()
    if (state.session.user.role === Role.GRID_WORKER) void refreshBase()
  }
})
