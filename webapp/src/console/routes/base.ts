/**
 * The base-data screens (基础信息, issue 16): residents, places and households, organisations,
 * key groups and level approvals, the read log, the overview. Loaded lazily with the section.
 */
import type { RouteRecordRaw } from 'vue-router'

export const baseRoutes: RouteRecordRaw[] = [
  {
    path: '/base',
    component: () => import('../pages/base/BaseLayout.vue'),
    meta: { section: 'base' },
    children: [
      { path: '', redirect: '/base/residents' },
      { path: 'residents', name: 'base-residents', component: () => import('../pages/base/ResidentsPage.vue') },
      {
        path: 'residents/:id(\\d+)',
        name: 'base-resident',
        component: () => import('../pages/base/ResidentsPage.vue'),
        props: (r) => ({ id: Number(r.params.id) }),
      },
      { path: 'places', name: 'base-places', component: () => import('../pages/base/PlacesPage.vue') },
      { path: 'organisations', name: 'base-organisations', component: () => import('../pages/base/OrganisationsPage.vue') },
      { path: 'key-groups', name: 'base-key-groups', component: () => import('../pages/base/KeyGroupsPage.vue') },
      { path: 'reads', name: 'base-reads', component: () => import('../pages/base/ReadsPage.vue') },
      { path: 'overview', name: 'base-overview', component: () => import('../pages/base/OverviewPage.vue') },
    ],
  },
]
