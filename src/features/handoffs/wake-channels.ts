/** The ephemeral pub/sub channels a handoff's changes are published on (state/store.ts). */

/** One handoff's waiters (long-polls, SSE); the message is its status. */
export const wakeChannel = (id: string) => `handoff:${id}`;
/** Org-wide: a handoff of the org was created or changed (the dashboard's live queue); the message is its id. */
export const orgChannel = (orgId: string) => `org-handoffs:${orgId}`;
