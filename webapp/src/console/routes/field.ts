/**
 * The field-work screens (外勤, issue 17): work logs per day, a worker's day on the map, the
 * 补签 approvals. Loaded lazily with the section.
 */
import type { RouteRecordRaw } from 'vue-router'

export const fieldHome = '/field/logs'

export const fieldRoutes: RouteRecordRaw[] = [
  {
    path: '/field',
    component: () => import('../pages/field/FieldLayout.vue'),
    meta: { section: 'field' },
    children: [
      { path: '', redirect: fieldHome },
      { path: 'logs', name: 'field-logs', component: () => import('../pages/field/WorkLogsPage.vue') },
      {
        path: 'workers/:id(\\d+)/:date(\\d{4}-\\d{2}-\\d{2})',
        name: 'field-day',
        component: () => import('../pages/field/WorkerDayPage.vue'),
        props: (r) => ({ workerId: Number(r.params.id), date: String(r.params.date) }),
      },
      { path: 'check-ins', name: 'field-check-ins', component: () => import('../pages/field/CheckInsPage.vue') },
    ],
  },
]
