/**
 * The org settings this replica last read, by org, with the version they were read at. Device
 * authentication answers the org's current version (migration 0032), so a create uses the cached
 * copy only when it is exactly the current one: a policy change applies to the very next create on
 * every replica, with no message to lose. Bounded: past `max` orgs the least recently stored goes.
 */
import type { Policies } from '../policies/policies.js';
import type { OrgSettings } from './handoffs.repository.js';

/** An org's stored settings and the policies parsed from them (parsed once per version). */
export interface CurrentSettings {
  readonly settings: OrgSettings;
  readonly policies: Policies;
}

export interface SettingsCache {
  /** The org's settings if the cached copy is at version `current`; undefined otherwise. */
  get(orgId: string, current: string | undefined): CurrentSettings | undefined;
  put(orgId: string, current: CurrentSettings): void;
}

export function createSettingsCache(max = 10_000): SettingsCache {
  const byOrg = new Map<string, CurrentSettings>();
  return {
    get(orgId, current) {
      if (current === undefined) return undefined;
      const s = byOrg.get(orgId);
      return s?.settings.version === current ? s : undefined;
    },
    put(orgId, entry) {
      byOrg.delete(orgId);
      byOrg.set(orgId, entry);
      if (byOrg.size > max) byOrg.delete(byOrg.keys().next().value!);
    },
  };
}
