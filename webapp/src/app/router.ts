import { createRouter, createWebHashHistory, type RouteRecordRaw } from 'vue-router'
import { Role } from '@/shared/vocabulary'
import ReportView from './views/ReportView.vue'
import { sessionKnown } from './session'
import { state } from './store'

const routes: RouteRecordRaw[] = [
  // home: 上报 for a grid worker, 案件 for a handler (decided once the session is known: see below)
  { path: '/', component: ReportView },
  // the report form is in the first chunk: it must be usable before anything else loads
  { path: '/report', component: ReportView, meta: { tab: 'report' } },
  { path: '/cases', component: () => import('./views/CasesView.vue'), meta: { tab: 'cases' } },
  { path: '/cases/:id(\\d+)', component: () => import('./views/CaseDetailView.vue'), meta: { tab: 'cases' }, props: true },
  { path: '/outbox', component: () => import('./views/OutboxView.vue'), meta: { tab: 'outbox' } },
  { path: '/outbox/:id/fix', component: ReportView, meta: { tab: 'outbox' }, props: (r) => ({ fixId: r.params.id }) },
  // 基础信息/走访 (issue 16): the grid worker's households, residents and visits, offline
  { path: '/base', component: () => import('./views/base/BaseView.vue'), meta: { tab: 'base' } },
  { path: '/base/households/:id(\\d+)', component: () => import('./views/base/HouseholdView.vue'), meta: { tab: 'base' }, props: true },
  { path: '/base/households/:id(\\d+)/add', component: () => import('./views/base/NewResidentView.vue'), meta: { tab: 'base' }, props: true },
  { path: '/base/residents/:id(\\d+)/edit', component: () => import('./views/base/ResidentEditView.vue'), meta: { tab: 'base' }, props: true },
  { path: '/base/visit', component: () => import('./views/base/VisitView.vue'), meta: { tab: 'base' } },
  { path: '/map', component: () => import('./views/MapView.vue'), meta: { tab: 'map' } },
  { path: '/me', component: () => import('./views/MeView.vue'), meta: { tab: 'me' } },
  { path: '/:rest(.*)*', redirect: '/' },
]

export const router = createRouter({
  history: createWebHashHistory(),
  routes,
  scrollBehavior: (_to, _from, saved) => saved ?? { top: 0 },
})

// Opening the app (or its icon on the home screen) lands on '/' before the session is read from
// IndexedDB: wait for it, or every worker would land on 案件 (a redirect record decides at once).
router.beforeEach(async (to) => {
  if (to.path !== '/') return true
  await sessionKnown
  return state.session?.user.role === Role.GRID_WORKER ? '/report' : '/cases'
})
