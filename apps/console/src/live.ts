import { useEffect, useRef } from 'react';
import { API } from './api';

/** LiveChange is what the server's stream says moved. */
export interface LiveChange {
  agents: string[];
  commands: { id: string; agent_id: string; state: string }[];
}

type Listener = (c: LiveChange) => void;
const listeners = new Set<Listener>();
let source: EventSource | undefined;

/** startLive opens the server-sent event stream (one per page) and stopLive closes it. */
export function startLive(): void {
  if (source) return;
  source = new EventSource(`${API}/stream`);
  source.addEventListener('change', (e) => {
    const c = JSON.parse((e as MessageEvent<string>).data) as LiveChange;
    for (const l of listeners) l(c);
  });
}

export function stopLive(): void {
  source?.close();
  source = undefined;
}

/** useLive calls `fn` for every change the server reports while the component is mounted. */
export function useLive(fn: Listener): void {
  const ref = useRef(fn);
  ref.current = fn;
  useEffect(() => {
    const l: Listener = (c) => ref.current(c);
    listeners.add(l);
    return () => {
      listeners.delete(l);
    };
  }, []);
}
