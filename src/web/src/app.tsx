/** The shell: session gate, layout with role-aware navigation, and the page for the current path. */
import { useEffect, useState } from 'react';
import { Loading } from './components';
import { TabNotifier } from './notify';
import { Link, matchPath, navigate, useLocation } from './router';
import { routes, type RouteDef } from './routes';
import { roleAtLeast, SessionProvider, useSession } from './session';

function findRoute(pathname: string): { route: RouteDef; params: Record<string, string> } | null {
  for (const route of routes) {
    const params = matchPath(route.path, pathname);
    if (params !== null) return { route, params };
  }
  return null;
}

function NotFound() {
  return (
    <section>
      <h1>Page not found</h1>
      <p>
        <Link to="/">Back to the queue</Link>
      </p>
    </section>
  );
}

function Forbidden() {
  return (
    <section>
      <h1>Not for your role</h1>
      <p>This page needs a role you do not have. Ask an admin of your organization.</p>
    </section>
  );
}

function Nav() {
  const { member, signOut } = useSession();
  const { pathname } = useLocation();
  const [open, setOpen] = useState(false);
  useEffect(() => setOpen(false), [pathname]);
  if (member == null) return null;
  const items = routes.filter(
    (r) => r.nav !== undefined && r.access !== 'public' && roleAtLeast(member.role, r.access),
  );
  return (
    <header className="topbar">
      <Link to="/" className="brand">
        ony
      </Link>
      <button
        type="button"
        className="menu-toggle"
        aria-expanded={open}
        aria-controls="main-nav"
        onClick={() => setOpen((o) => !o)}
      >
        Menu
      </button>
      <nav id="main-nav" aria-label="Main" className={open ? 'open' : ''}>
        <ul>
          {items.map((r) => {
            const current = r.path === '/' ? pathname === '/' : pathname.startsWith(r.path);
            return (
              <li key={r.path}>
                <Link to={r.path} aria-current={current ? 'page' : undefined}>
                  {r.nav}
                </Link>
              </li>
            );
          })}
        </ul>
        <div className="who">
          <span>
            {member.name} <span className="muted">({member.role})</span>
          </span>
          <button
            type="button"
            className="link-button"
            onClick={() => void signOut().finally(() => navigate('/sign-in'))}
          >
            Sign out
          </button>
        </div>
      </nav>
    </header>
  );
}

function Page() {
  const { member } = useSession();
  const { pathname, search } = useLocation();
  const found = findRoute(pathname);
  const needsSession = found === null || found.route.access !== 'public';

  useEffect(() => {
    if (member === null && needsSession) {
      const next = pathname === '/' ? '' : `?next=${encodeURIComponent(pathname + search)}`;
      navigate(`/sign-in${next}`, { replace: true });
    }
  }, [member, needsSession, pathname, search]);

  if (member === undefined) return <Loading />;
  if (found === null) return member === null ? <Loading /> : <NotFound />;
  const { route, params } = found;
  if (route.access !== 'public') {
    if (member === null) return <Loading what="Redirecting to sign-in" />;
    if (!roleAtLeast(member.role, route.access)) return <Forbidden />;
  }
  const Component = route.component;
  return <Component key={route.path} params={params} />;
}

export function App() {
  return (
    <SessionProvider>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <Nav />
      <main id="main">
        <Page />
      </main>
      <TabNotifier />
    </SessionProvider>
  );
}
