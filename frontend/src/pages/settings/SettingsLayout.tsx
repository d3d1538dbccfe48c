import { NavLink, Navigate, Outlet, useLocation } from 'react-router';
import { useSession } from '../../layout/RequireSession.js';
import { permissionHolders, settingsSections } from './settingsSections.js';
import './settings.css';

/**
 * The Settings section: its own menu (only the pages the caller may open) above the page. A page
 * opened by a link without the permission its API needs says so, instead of showing a 403.
 */
export function SettingsLayout() {
  const session = useSession();
  const location = useLocation();
  const allowed = settingsSections.filter((section) =>
    session.permissions.includes(section.permission),
  );
  const current = settingsSections.find((section) =>
    location.pathname.startsWith(`/settings/${section.path}`),
  );
  if (current === undefined) {
    return <Navigate to={`/settings/${allowed[0]?.path ?? 'api-tokens'}`} replace />;
  }
  const permitted = session.permissions.includes(current.permission);
  return (
    <div className="settings">
      <nav aria-label="Settings" className="settings-nav">
        <ul>
          {allowed.map((section) => (
            <li key={section.path}>
              <NavLink to={`/settings/${section.path}`}>{section.label}</NavLink>
            </li>
          ))}
        </ul>
      </nav>
      {permitted ? (
        <Outlet />
      ) : (
        <>
          <h1>{current.label}</h1>
          <p className="notice">
            This page needs the <strong>{current.permission}</strong> permission (
            {permissionHolders[current.permission]}); you are{' '}
            {session.role === 'admin' ? 'an' : 'a'} {session.role} in {session.organization.name}.
          </p>
        </>
      )}
    </div>
  );
}
