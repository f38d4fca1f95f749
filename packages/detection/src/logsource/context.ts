/** EvalContext is what the caller knows about an event beyond the event itself: its host. */
export interface EvalContext {
  /** The agent the event came from (Palisade's agent id). */
  agentId?: string;
  /** The host name of that agent. */
  hostname?: string;
}
