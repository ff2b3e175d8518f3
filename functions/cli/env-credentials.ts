import type { LivechatCredentials } from '#doctor/livechat-probe.ts';
import type { V2Credentials } from '#sources/v2/livechat-client.ts';
import type { Source } from './archive-args.ts';

/**
 * The LiveChat credentials of a source from the environment (archive and doctor read the same
 * variables). A v2 PAT may name its account (LIVECHAT_ACCOUNT_ID), which the v3 Configuration
 * API takes as the PAT's user name.
 */
export type Credentials = LivechatCredentials;

/** v2 credentials from the environment, in order of preference: bearer token, PAT, legacy API key. */
function v2CredentialsFrom(env: NodeJS.ProcessEnv): V2Credentials | undefined {
  const { LIVECHAT_BEARER_TOKEN: token, LIVECHAT_LOGIN: login, LIVECHAT_PAT: pat, LIVECHAT_API_KEY: apiKey } = env;
  if (token) return { kind: 'bearer', token };
  if (login && pat) return { kind: 'pat', login, pat };
  if (login && apiKey) return { kind: 'api-key', login, apiKey };
  return undefined;
}

/** The source's credentials from the environment, or the one-line problem. */
export function credentialsFrom(args: { source: Source }, env: NodeJS.ProcessEnv): Credentials | string {
  if (args.source === 'v2') {
    const credentials = v2CredentialsFrom(env);
    const accountId = env.LIVECHAT_ACCOUNT_ID;
    return credentials
      ? { kind: 'v2', credentials, ...(accountId ? { accountId } : {}) }
      : 'set LIVECHAT_LOGIN (agent e-mail) and LIVECHAT_PAT (Personal Access Token, scope archives_read), or LIVECHAT_BEARER_TOKEN, in the environment';
  }
  const accountId = env.LIVECHAT_ACCOUNT_ID;
  const token = env.LIVECHAT_PAT;
  const bearer = env.LIVECHAT_BEARER_TOKEN;
  if (accountId && token) return { kind: 'v3.6', credentials: { kind: 'pat', accountId, token } };
  if (bearer) return { kind: 'v3.6', credentials: { kind: 'bearer', token: bearer } };
  return 'for --source v3.6 set LIVECHAT_ACCOUNT_ID and LIVECHAT_PAT, or LIVECHAT_BEARER_TOKEN, in the environment';
}
