/**
 * Who is signed in: loaded from GET /v1/auth/session/state (which also hands out the CSRF token), cleared
 * when the API says the session is gone.
 */
import { createContext, useCallback, useContext, useEffect, useState, type ReactNode } from 'react';
import { api, onUnauthenticated, setCsrfToken } from './api';
import type { Member, Role, SessionInfo } from './types';

export interface SessionState {
  /** undefined while loading; null when signed out. */
  readonly member: Member | null | undefined;
  readonly orgId: string | null;
  refresh(): Promise<void>;
  signOut(): Promise<void>;
}

type SessionState200 = { readonly signed_in: false } | ({ readonly signed_in: true } & SessionInfo);

const SessionContext = createContext<SessionState | null>(null);

const RANK: Record<Role, number> = { viewer: 0, member: 1, admin: 2 };
export const roleAtLeast = (role: Role | undefined, min: Role): boolean =>
  role !== undefined && RANK[role] >= RANK[min];

export function SessionProvider({ children }: { children: ReactNode }) {
  const [member, setMember] = useState<Member | null | undefined>(undefined);
  const [orgId, setOrgId] = useState<string | null>(null);

  const refresh = useCallback(async () => {
    // The probe answers 200 either way: a signed-out first load logs no failed request.
    const s = await api<SessionState200>('GET', '/v1/auth/session/state');
    if (!s.signed_in) {
      setCsrfToken(null);
      setMember(null);
      setOrgId(null);
      return;
    }
    setCsrfToken(s.csrf_token);
    setOrgId(s.org_id);
    setMember(s.member);
  }, []);

  const signOut = useCallback(async () => {
    try {
      await api('POST', '/v1/auth/logout');
    } finally {
      setCsrfToken(null);
      setMember(null);
      setOrgId(null);
    }
  }, []);

  useEffect(() => {
    refresh().catch(() => setMember(null));
    return onUnauthenticated(() => {
      setCsrfToken(null);
      setMember(null);
    });
  }, [refresh]);

  return (
    <SessionContext.Provider value={{ member, orgId, refresh, signOut }}>{children}</SessionContext.Provider>
  );
}

export function useSession(): SessionState {
  const s = useContext(SessionContext);
  if (s === null) throw new Error('useSession outside SessionProvider');
  return s;
}

/** The signed-in member (only inside pages that need a session). */
export function useMe(): Member {
  const { member } = useSession();
  if (member == null) throw new Error('useMe without a session');
  return member;
}
