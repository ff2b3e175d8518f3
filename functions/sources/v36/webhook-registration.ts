import * as z from '#shared/zod-mini.ts';
import {
  type Accept,
  acceptedBy,
  createRetryingApi,
  type RetryingApi,
  type RetryingApiTuning,
  toLivechatError,
} from '#sources/retrying-api.ts';

/**
 * Configuration API v3.6 webhook methods (livechat/livechat-public-docs,
 * src/pages/management/configuration-api/index.mdx "Register Webhook", "List Webhooks",
 * "Unregister Webhook", "Get License Webhooks State"; response examples in
 * payloads/management/v3.6/configuration-api/responses/webhooks/): `POST
 * /v3.6/configuration/action/<method>`, JSON bodies, scope `webhooks.configuration:rw` (the state:
 * `webhooks.state:ro`). A webhook cannot be edited: re-register instead. The writes (register,
 * unregister) are never sent again once they may have reached LiveChat (a second register after a
 * lost answer would register a second webhook): a lost answer fails with
 * LivechatWriteUnconfirmedError, which says to check with `list`. The reads are retried.
 */
const ACTION = '/v3.6/configuration/action/';
export const WEBHOOK_SCOPE = 'webhooks.configuration:rw';
/** Get License Webhooks State's scope. */
export const WEBHOOKS_STATE_SCOPE = 'webhooks.state:ro';
/** What an unconfirmed register or unregister tells the operator to do. */
const CHECK_WRITE =
  'see whether it took effect with `npm run webhooks -- list --owner-client-id ID` (or `npm run doctor -- --source v3.6 --webhook-url URL --owner-client-id ID`) before sending it again';

export interface RegisterRequest {
  url: string;
  secretKey: string;
  ownerClientId: string;
  description?: string;
}

const registeredSchema = z.looseObject({ id: z.string().check(z.minLength(1)) });
const webhookSchema = z.looseObject({
  id: z.string(),
  url: z.optional(z.string()),
  action: z.optional(z.string()),
  type: z.optional(z.string()),
  description: z.optional(z.string()),
  owner_client_id: z.optional(z.string()),
});
const stateSchema = z.looseObject({ license_webhooks_enabled: z.optional(z.boolean()) });
export type RegisteredWebhook = z.infer<typeof webhookSchema>;

export interface WebhookRegistryOptions extends RetryingApiTuning {
  apiUrl: string;
  /** The whole Authorization header value (Bearer, or Basic base64(account_id:PAT)). */
  authorization: string;
  region?: string;
}

export function createWebhookRegistry(options: WebhookRegistryOptions) {
  const headers = {
    Authorization: options.authorization,
    'Content-Type': 'application/json',
    Accept: 'application/json',
    ...(options.region ? { 'X-Region': options.region } : {}),
  };
  const reads = createRetryingApi({ ...options, headers, methods: ['post'] });
  // No method only reads here: every request of this client is a write.
  const writes = createRetryingApi({ ...options, headers, methods: [], checkWrite: CHECK_WRITE });
  const call = async <T>(api: RetryingApi, method: string, json: object, accept?: Accept<T>): Promise<T> => {
    const request = { method: 'post', json };
    try {
      const input = `${ACTION.slice(1)}${method}`;
      return accept ? await api.json<T>(input, request, accept) : ((await api.send(input, request)) as T);
    } catch (error) {
      throw toLivechatError(error, `${ACTION}${method}`, `the token needs the scope ${WEBHOOK_SCOPE}`);
    }
  };
  return {
    /** Registers a `chat_deactivated` license webhook; returns its id. */
    async register(request: RegisterRequest): Promise<string> {
      const json = {
        action: 'chat_deactivated',
        secret_key: request.secretKey,
        url: request.url,
        type: 'license',
        owner_client_id: request.ownerClientId,
        ...(request.description ? { description: request.description } : {}),
      };
      return (await call(writes, 'register_webhook', json, acceptedBy(registeredSchema))).id;
    },
    async list(ownerClientId: string): Promise<RegisteredWebhook[]> {
      return call(reads, 'list_webhooks', { owner_client_id: ownerClientId }, acceptedBy(z.array(webhookSchema)));
    },
    /** "No response payload (200 OK)". */
    async unregister(id: string, ownerClientId: string): Promise<void> {
      await call<void>(writes, 'unregister_webhook', { id, owner_client_id: ownerClientId });
    },
    /** Whether the app's license webhooks are enabled on the token's license (installed app). */
    async enabled(ownerClientId: string): Promise<boolean | undefined> {
      const state = await call(
        reads,
        'get_license_webhooks_state',
        { owner_client_id: ownerClientId },
        acceptedBy(stateSchema),
      );
      return state.license_webhooks_enabled;
    },
  };
}
