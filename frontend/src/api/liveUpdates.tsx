import {
  apiRoutes,
  liveEventNames,
  parseLiveEvent,
  type LiveEvent,
} from '@cronfleet/core/contract';
import { useQueryClient, type QueryKey } from '@tanstack/react-query';
import { createContext, useContext, useEffect, useState, type ReactNode } from 'react';
import { refreshIntervalMs } from './queryClient.js';

/**
 * Live updates: the organization's Server-Sent Events (`GET /api/v1/events`, with the session
 * cookie) mark the queries an event touches as stale, and TanStack Query refetches those on
 * screen. While the stream is open the pages do not poll. When it cannot open or is closed for
 * good (an older backend without the route, a proxy that refuses streams), the pages poll at
 * `refreshIntervalMs` and the stream is tried again every 30 s. The browser resumes a dropped
 * stream by itself, sending `Last-Event-ID`, and the backend replays what was missed or sends a
 * `refetch` event.
 */
export type LiveMode = 'live' | 'polling';

const LiveModeContext = createContext<LiveMode>('polling');

const reopenAfterMs = 30_000;
/** Events are batched: at the top of the hour thousands of runs start within seconds. */
const flushEveryMs = 1_000;

function keysTouchedBy(event: LiveEvent): QueryKey[] | 'all' {
  switch (event.event) {
    case 'run':
      return [['runs'], ['stats'], ['jobs'], ['run', event.data.runId]];
    case 'agent':
      return [['stats'], ['agents'], ['jobs']];
    case 'incident':
      return [['stats'], ['jobs'], ['incidents']];
    case 'refetch':
      return 'all';
  }
}

export function LiveUpdates(props: { children: ReactNode }) {
  const queryClient = useQueryClient();
  const [mode, setMode] = useState<LiveMode>('polling');

  useEffect(() => {
    if (typeof EventSource === 'undefined') return;
    let source: EventSource | undefined;
    let reopenTimer: ReturnType<typeof setTimeout> | undefined;
    let flushTimer: ReturnType<typeof setTimeout> | undefined;
    let pending = new Map<string, QueryKey>();
    let refetchAll = false;

    const flush = () => {
      flushTimer = undefined;
      if (refetchAll) {
        void queryClient.invalidateQueries({ predicate: (query) => query.queryKey[0] !== 'me' });
      } else {
        for (const queryKey of pending.values()) void queryClient.invalidateQueries({ queryKey });
      }
      pending = new Map();
      refetchAll = false;
    };
    const received = (message: MessageEvent<string>) => {
      let keys: QueryKey[] | 'all';
      try {
        const event = parseLiveEvent(message.lastEventId, message.type, message.data);
        if (event === null) return;
        keys = keysTouchedBy(event);
      } catch {
        keys = 'all'; // An event this version cannot read: reload what is shown.
      }
      if (keys === 'all') refetchAll = true;
      else for (const key of keys) pending.set(JSON.stringify(key), key);
      flushTimer ??= setTimeout(flush, flushEveryMs);
    };
    const open = () => {
      source = new EventSource(apiRoutes.streamEvents.path, { withCredentials: true });
      source.onopen = () => {
        setMode('live');
        // Whatever happened while the stream was down.
        refetchAll = true;
        flushTimer ??= setTimeout(flush, flushEveryMs);
      };
      source.onerror = () => {
        setMode('polling');
        if (source?.readyState === EventSource.CLOSED) {
          source.close();
          reopenTimer = setTimeout(open, reopenAfterMs);
        }
      };
      for (const name of liveEventNames) source.addEventListener(name, received);
    };
    open();
    return () => {
      source?.close();
      clearTimeout(reopenTimer);
      clearTimeout(flushTimer);
    };
  }, [queryClient]);

  return <LiveModeContext value={mode}>{props.children}</LiveModeContext>;
}

export function useLiveMode(): LiveMode {
  return useContext(LiveModeContext);
}

/** A page's polling interval: none while the live stream is open. */
export function useRefreshInterval(page: keyof typeof refreshIntervalMs): number | false {
  return useLiveMode() === 'live' ? false : refreshIntervalMs[page];
}
