/**
 * The admin screens (系统管理): users and grid duties, grids (unstaffed flagged), departments,
 * categories and time limits, grid plans. Loaded lazily with the section.
 */
import type { RouteRecordRaw } from 'vue-router'

export const adminRoutes: RouteRecordRaw[] = [
  {
    path: '/admin',
    component: () => import('../pages/admin/AdminLayout.vue'),
    meta: { section: 'admin' },
    children: [
      { path: '', redirect: '/admin/users' },
      { path: 'users', name: 'admin-users', component: () => import('../pages/admin/UsersPage.vue') },
      { path: 'grids', name: 'admin-grids', component: () => import('../pages/admin/GridsPage.vue') },
      { path: 'departments', name: 'admin-departments', component: () => import('../pages/admin/DepartmentsPage.vue') },
      { path: 'categories', name: 'admin-categories', component: () => import('../pages/admin/CategoriesPage.vue') },
      { path: 'routing', name: 'admin-routing', component: () => import('../pages/admin/RoutingPage.vue') },
      { path: 'plans', name: 'admin-plans', component: () => import('../pages/admin/PlansPage.vue') },
    ],
  },
]
