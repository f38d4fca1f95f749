/** AGENT_VERSION is this agent build's version, reported at registration, check-in and Hello. */
export const AGENT_VERSION = '0.1.0';
