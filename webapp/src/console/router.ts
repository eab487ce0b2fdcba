/**
 * Console routes (history base /console/): the case screens here, the admin screens in
 * routes/admin.ts, the dashboard in routes/dashboard.ts, base data in routes/base.ts, field work
 * in routes/field.ts; any other path is "page not found".
 */
import { createRouter, createWebHistory, type RouteRecordRaw } from 'vue-router'
import { adminRoutes } from './routes/admin'
import { baseRoutes } from './routes/base'
import { dashboardRoutes } from './routes/dashboard'
import { fieldRoutes } from './routes/field'

const core: RouteRecordRaw[] = [
  { path: '/', redirect: '/queue' },
  { path: '/queue', name: 'queue', component: () => import('./pages/QueuePage.vue') },
  { path: '/map', name: 'map', component: () => import('./pages/MapPage.vue') },
  { path: '/cases/:id(\\d+)', name: 'case', component: () => import('./pages/CasePage.vue'), props: (r) => ({ id: Number(r.params.id) }) },
  { path: '/hotline', name: 'hotline', component: () => import('./pages/HotlinePage.vue') },
  { path: '/overdue', name: 'overdue', component: () => import('./pages/OverduePage.vue') },
  { path: '/calendar', name: 'calendar', component: () => import('./pages/calendar/CalendarPage.vue') },
]

/** Where the "管理" / "统计分析" nav entries go. */
export const adminHome = '/admin'
export const dashboardHome = '/dashboard'

export const router = createRouter({
  history: createWebHistory('/console/'),
  routes: [
    ...core,
    ...adminRoutes,
    ...dashboardRoutes,
    ...baseRoutes,
    ...fieldRoutes,
    { path: '/:rest(.*)*', name: 'not-found', component: () => import('./pages/NotFoundPage.vue') },
  ],
})
