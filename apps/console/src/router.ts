import { useEffect, useState } from 'react';

/** Route is the part of the URL after '#': a path and its query parameters. */
export interface Route {
  path: string;
  params: URLSearchParams;
}

function read(): Route {
  const h = window.location.hash.replace(/^#/, '') || '/';
  const [path, query] = h.split('?');
  return { path: path || '/', params: new URLSearchParams(query ?? '') };
}

/** useRoute follows the URL fragment (the console routes in it, so the server serves one page). */
export function useRoute(): Route {
  const [r, setR] = useState(read);
  useEffect(() => {
    const on = () => setR(read());
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  return r;
}

/** href makes a fragment link. */
export function href(path: string, params?: Record<string, string | undefined>): string {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params ?? {})) if (v) u.set(k, v);
  const q = u.toString();
  return `#${path}${q ? `?${q}` : ''}`;
}

export function go(path: string, params?: Record<string, string | undefined>): void {
  window.location.hash = href(path, params).slice(1);
}
