import { createContext, useContext } from 'react';
import type { Role, User } from './api';

const RANK: Record<Role, number> = { viewer: 1, analyst: 2, admin: 3 };

export interface SessionCtx {
  user: User;
  logout: () => void;
}

export const Session = createContext<SessionCtx | null>(null);

export function useSession(): SessionCtx {
  const s = useContext(Session);
  if (!s) throw new Error('no session');
  return s;
}

/** can says whether the logged-in user's role is at least `need` (the server decides; this hides what it would refuse). */
export function can(user: User, need: Role): boolean {
  return RANK[user.role] >= RANK[need];
}
