/**
 * Console routes (history base /console/). The admin screens and the dashboard are another
 * engineer's: their route lists come from routes/admin.ts and routes/dashboard.ts.
 */
import { createRouter, createWebHistory, type RouteRecordRaw } from 'vue-router'
import { adminRoutes } from './routes/admin'
import { dashboardRoutes } from './routes/dashboard'

const core: RouteRecordRaw[] = [
  { path: '/', redirect: '/queue' },
  { path: '/queue', name: 'queue', component: () => import('./pages/QueuePage.vue') },
  { path: '/map', name: 'map', component: () => import('./pages/MapPage.vue') },
  { path: '/cases/:id(\\d+)', name: 'case', component: () => import('./pages/CasePage.vue'), props: (r) => ({ id: Number(r.params.id) }) },
  { path: '/hotline', name: 'hotline', component: () => import('./pages/HotlinePage.vue') },
  { path: '/overdue', name: 'overdue', component: () => import('./pages/OverduePage.vue') },
  { path: '/calendar', name: 'calendar', component: () => import('./pages/calendar/CalendarPage.vue') },
]

const placeholder = (): Promise<unknown> => import('./pages/PlaceholderPage.vue')

function hasPrefix(list: RouteRecordRaw[], prefix: string): boolean {
  return list.some((r) => r.path === prefix || r.path.startsWith(prefix + '/'))
}

/** Where the "管理" / "统计分析" nav entries go. */
export const adminHome = adminRoutes.find((r) => !r.path.includes(':'))?.path ?? '/admin'
export const dashboardHome = dashboardRoutes.find((r) => !r.path.includes(':'))?.path ?? '/dashboard'

const fallbacks: RouteRecordRaw[] = []
if (!hasPrefix(adminRoutes, '/admin')) fallbacks.push({ path: '/admin/:rest(.*)*', component: placeholder, meta: { section: 'admin' } })
if (!hasPrefix(dashboardRoutes, '/dashboard'))
  fallbacks.push({ path: '/dashboard/:rest(.*)*', component: placeholder, meta: { section: 'dashboard' } })

export const router = createRouter({
  history: createWebHistory('/console/'),
  routes: [
    ...core,
    ...adminRoutes,
    ...dashboardRoutes,
    ...fallbacks,
    { path: '/:rest(.*)*', component: placeholder, meta: { section: 'missing' } },
  ],
})
