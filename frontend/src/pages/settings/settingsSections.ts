import type { PermissionName } from '@cronfleet/core/contract';

/**
 * The settings pages, in menu order, each with the permission its list route needs (core's route
 * table): a caller without it does not see the entry, and a deep link says what is missing
 * instead of a 403.
 */
export const settingsSections: readonly {
  path: string;
  label: string;
  permission: PermissionName;
}[] = [
  { path: 'api-tokens', label: 'API tokens', permission: 'read' },
  { path: 'enrollment-tokens', label: 'Enrollment tokens', permission: 'write' },
  { path: 'users', label: 'Users and roles', permission: 'admin' },
  { path: 'notification-channels', label: 'Notification channels', permission: 'read' },
  { path: 'audit', label: 'Audit log', permission: 'admin' },
];

/** What each permission means, for the page a caller may not open. */
export const permissionHolders: Record<PermissionName, string> = {
  read: 'every member',
  write: 'operators and admins',
  admin: 'admins',
};
