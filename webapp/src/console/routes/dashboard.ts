/**
 * The supervisors' dashboard (统计分析): loaded lazily (ECharts comes with it, not with the
 * queue).
 */
import type { RouteRecordRaw } from 'vue-router'

export const dashboardRoutes: RouteRecordRaw[] = [
  { path: '/dashboard', name: 'dashboard', component: () => import('../pages/dashboard/DashboardPage.vue'), meta: { section: 'dashboard' } },
]
