/** The command-centre console (指挥中心控制台): a second entry of the Vite project, served at /console/. */
import { createApp, watch } from 'vue'
import App from './App.vue'
import { locale, setLocale } from './i18n'
import { startLive } from './live'
import { router } from './router'
import { loadBootstrap, session } from './session'
import './styles.css'

setLocale(locale.value)
const app = createApp(App)
app.use(router)
app.mount('#console')
document.getElementById('console')?.setAttribute('data-ready', '1')

void loadBootstrap()
// the live feed runs once somebody is signed in (now or after the sign-in form)
watch(
  () => session.user?.id,
  (id) => {
    if (id != null) void startLive()
  },
)
