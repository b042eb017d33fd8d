/**
 * Every screen: its path, who may see it, and its place in the navigation. Admin screens live in
 * pages/admin/ and are listed here too (role 'admin' hides them from everyone else; the API
 * refuses their calls anyway).
 */
import type { ComponentType } from 'react';
import type { Role } from './types';
import { AccountPage } from './pages/account';
import { AuditPage } from './pages/admin/audit';
import { DevicesPage } from './pages/admin/devices';
import { InsightsPage } from './pages/admin/insights';
import { PolicyPage } from './pages/admin/policy';
import { TeamPage } from './pages/admin/team';
import { ConfirmEmailPage } from './pages/confirm-email';
import { HandoffPage } from './pages/handoff';
import { HistoryPage } from './pages/history';
import { InvitePage } from './pages/invite';
import { QueuePage } from './pages/queue';
import { ResetPasswordPage } from './pages/reset-password';
import { SetupPage } from './pages/setup';
import { SignInPage } from './pages/sign-in';

export interface RouteDef {
  readonly path: string;
  readonly component: ComponentType<{ params: Record<string, string> }>;
  /** 'public': no session needed (sign in, setup, links from mail). Otherwise the lowest role. */
  readonly access: 'public' | Role;
  /** Shown in the navigation with this label. */
  readonly nav?: string;
}

export const routes: readonly RouteDef[] = [
  { path: '/sign-in', component: SignInPage, access: 'public' },
  { path: '/setup', component: SetupPage, access: 'public' },
  { path: '/reset-password', component: ResetPasswordPage, access: 'public' },
  { path: '/invite', component: InvitePage, access: 'public' },
  { path: '/', component: QueuePage, access: 'viewer', nav: 'Queue' },
  { path: '/history', component: HistoryPage, access: 'viewer', nav: 'History' },
  { path: '/handoffs/:id', component: HandoffPage, access: 'viewer' },
  { path: '/account', component: AccountPage, access: 'viewer', nav: 'Account' },
  { path: '/settings/sessions', component: AccountPage, access: 'viewer' },
  { path: '/confirm-email', component: ConfirmEmailPage, access: 'viewer' },
  { path: '/admin/team', component: TeamPage, access: 'admin', nav: 'Team' },
  { path: '/admin/devices', component: DevicesPage, access: 'admin', nav: 'Devices' },
  { path: '/admin/policy', component: PolicyPage, access: 'admin', nav: 'Policy' },
  // The link in channel test messages.
  { path: '/admin/channels', component: PolicyPage, access: 'admin' },
  { path: '/admin/audit', component: AuditPage, access: 'admin', nav: 'Audit' },
  { path: '/admin/insights', component: InsightsPage, access: 'admin', nav: 'Insights' },
];
