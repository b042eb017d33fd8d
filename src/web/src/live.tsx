/**
 * Server-Sent Events with the session cookie (same origin). The browser reconnects by itself;
 * `onReady` fires on every (re)connect so a screen can reload what it may have missed.
 * Pass url null to close the stream (e.g. once a handoff is final).
 */
import { useEffect, useRef, useState } from 'react';

export type LiveState = 'connecting' | 'live' | 'reconnecting' | 'closed';

export function useEventStream<T>(
  url: string | null,
  event: string,
  onEvent: (data: T) => void,
  onReady?: () => void,
): LiveState {
  const [state, setState] = useState<LiveState>('connecting');
  const handlers = useRef({ onEvent, onReady });
  handlers.current = { onEvent, onReady };
  useEffect(() => {
    if (url === null) {
      setState('closed');
      return;
    }
    const source = new EventSource(url, { withCredentials: true });
    const handler = (e: Event) => {
      setState('live');
      try {
        handlers.current.onEvent(JSON.parse((e as MessageEvent<string>).data) as T);
      } catch {
        // a malformed event is ignored; the next reload catches up
      }
    };
    const ready = () => {
      setState('live');
      handlers.current.onReady?.();
    };
    source.addEventListener(event, handler);
    source.addEventListener('ready', ready);
    source.onopen = () => setState('live');
    source.onerror = () => setState('reconnecting');
    return () => source.close();
  }, [url, event]);
  return state;
}

export function LiveIndicator({ state }: { state: LiveState }) {
  const text =
    state === 'live'
      ? 'Live: updates appear by themselves'
      : state === 'closed'
        ? 'Final'
        : state === 'connecting'
          ? 'Connecting…'
          : 'Connection lost; reconnecting…';
  return (
    <p className={`live muted live-${state}`} role="status" aria-live="polite">
      {text}
    </p>
  );
}
