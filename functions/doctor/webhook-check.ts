import { LivechatAuthError, LivechatError } from '#shared/errors.ts';
import type { RetryingApiTuning } from '#sources/retrying-api.ts';
import { CHAT_DEACTIVATED, secretMatches } from '#sources/v36/webhook-delivery.ts';
import {
  createWebhookRegistry,
  type RegisteredWebhook,
  WEBHOOK_SCOPE,
  WEBHOOKS_STATE_SCOPE,
} from '#sources/v36/webhook-registration.ts';
import { type CheckResult, failed, ok, warning } from './check-result.ts';
import { configurationAuthorization, type LivechatCredentials } from './livechat-probe.ts';

/** Where LiveChat must post, and what the receiver holds: the webhooks the doctor checks. */
export interface WebhookSetup {
  /** The receiver's URL: the stack's WebhookUrl output, or the public URL of `npm run webhooks`. */
  receiverUrl: string;
  /** The Developer Console app (Client ID) that owns the webhook; unset on a stack without `webhookOwnerClientId`. */
  ownerClientId: string | undefined;
  /** The receiver's secret_key (never printed), undefined when it could not be read. */
  secretKey: string | undefined;
  /** Where that secret comes from, in words (`LIVECHAT_WEBHOOK_SECRET`, the secret WebhookSecretArn). */
  secretSource: string;
  /** The Secrets Manager secret `register` reads it from (the stack's), named in the fix. */
  secretId?: string;
  /** A Lambda function URL: every path reaches the receiver, so a registered URL matches by origin. */
  anyPath?: boolean;
}

export interface WebhookCheckInput {
  credentials: LivechatCredentials;
  apiUrl: string;
  region?: string;
  tuning?: RetryingApiTuning;
  webhooks: WebhookSetup;
}

/** Shorter than this, a secret_key can be guessed: anyone could then post thread ids to the receiver. */
export const MIN_SECRET_LENGTH = 16;

/**
 * The `webhooks` check (docs/doctor.md), when webhooks are configured: through the Configuration API
 * v3.6 (src/pages/management/configuration-api/index.mdx "List Webhooks", "Get License Webhooks
 * State"), a `chat_deactivated` webhook of type `license` owned by the app posts to the receiver's
 * URL, without filters that hold back chats, and the app's license webhooks are enabled on the
 * license. The receiver's secret must be set; LiveChat's listing does not document the registered
 * `secret_key`, so it is compared (in constant time, never printed) only when the answer carries it.
 */
export async function webhookCheck(input: WebhookCheckInput): Promise<CheckResult> {
  const { webhooks } = input;
  const owner = webhooks.ownerClientId;
  if (!owner) {
    return warning(
      'webhooks',
      "the webhook registration cannot be checked: the Developer Console app's Client ID is not configured",
      'set cdk.json "webhookOwnerClientId" to the Client ID of the app that owns the webhook, and deploy',
    );
  }
  const register = registerCommand(webhooks, owner);
  const authorization = configurationAuthorization(input.credentials);
  if (!authorization) {
    return warning(
      'webhooks',
      'the webhook registration could not be read: the Configuration API takes a v3.6 PAT (account ID) or a bearer token',
      `check with npm run webhooks -- list --owner-client-id ${owner}`,
    );
  }
  const registry = createWebhookRegistry({
    apiUrl: input.apiUrl,
    authorization,
    ...(input.region ? { region: input.region } : {}),
    ...input.tuning,
  });
  let hooks: RegisteredWebhook[];
  try {
    hooks = await registry.list(owner);
  } catch (error) {
    if (!(error instanceof LivechatError)) throw error;
    return warning(
      'webhooks',
      error instanceof LivechatAuthError
        ? `the webhooks of app ${owner} could not be listed: LiveChat refused the token (${error.status})`
        : `the webhooks of app ${owner} could not be listed: ${error.message}`,
      `give the token the scope ${WEBHOOK_SCOPE}, or check with a token that has it: npm run webhooks -- list --owner-client-id ${owner}`,
    );
  }
  const app = `app ${owner}`;
  const toReceiver = hooks.filter((hook) => hook.url !== undefined && sameReceiver(hook.url, webhooks));
  const deactivated = toReceiver.filter((hook) => hook.action === CHAT_DEACTIVATED);
  const licensed = deactivated.filter((hook) => hook.type === 'license');
  if (licensed.length === 0) {
    const elsewhere = hooks.filter((hook) => hook.action === CHAT_DEACTIVATED && !toReceiver.includes(hook));
    const found = [
      ...deactivated.map((hook) => `a ${hook.type ?? 'untyped'} webhook ${hook.id} (only chats with the app's bot)`),
      ...toReceiver
        .filter((hook) => hook.action !== CHAT_DEACTIVATED)
        .map((hook) => `${hook.action ?? 'no action'} webhook ${hook.id}`),
      ...elsewhere.map((hook) => `chat_deactivated webhook ${hook.id} → ${hook.url ?? 'no URL'}`),
    ];
    const stale = [...deactivated, ...elsewhere].map((hook) => hook.id);
    return failed(
      'webhooks',
      `no chat_deactivated license webhook of ${app} posts to ${webhooks.receiverUrl}` +
        (found.length ? ` (found: ${found.join('; ')})` : ` (${hooks.length} webhook(s) registered for the app)`),
      stale.length
        ? `npm run webhooks -- unregister --id ${stale.join(' / --id ')} --owner-client-id ${owner}, then ${register}`
        : register,
    );
  }

  const problems: string[] = [];
  const warnings: string[] = [];
  const hook = licensed[0] as RegisteredWebhook;
  const filters = filterNames(hook);
  if (filters.length) {
    warnings.push(
      `webhook ${hook.id} has filters (${filters.join(', ')}): only matching chats are delivered, the night archives the rest`,
    );
  }
  if (licensed.length > 1) {
    warnings.push(
      `${licensed.length} chat_deactivated webhooks post to it (${licensed.map((h) => h.id).join(', ')}): each thread is delivered ${licensed.length} times`,
    );
  }
  let secret = 'secret set';
  if (webhooks.secretKey === undefined || webhooks.secretKey === '') {
    problems.push(`the receiver's secret_key is not set (${webhooks.secretSource})`);
  } else {
    const registered = (hook as Record<string, unknown>)['secret_key'];
    if (typeof registered === 'string') {
      if (!secretMatches(registered, webhooks.secretKey)) {
        problems.push(
          `the registered secret_key differs from the receiver's (${webhooks.secretSource}; values not shown)`,
        );
      } else secret = 'secret_key matches the registered one';
    } else secret = 'secret set (LiveChat does not return the registered one: a mismatch shows as refused deliveries)';
    if (webhooks.secretKey.length < MIN_SECRET_LENGTH) {
      warnings.push(`the secret_key is shorter than ${MIN_SECRET_LENGTH} characters: it can be guessed`);
    }
  }

  let enabled: boolean | undefined;
  let stateUnknown: string | undefined;
  try {
    enabled = await registry.enabled(owner);
    if (enabled === undefined) stateUnknown = 'the license webhooks state has no license_webhooks_enabled';
  } catch (error) {
    if (!(error instanceof LivechatError)) throw error;
    stateUnknown =
      error instanceof LivechatAuthError
        ? `whether the license webhooks are enabled could not be read (${error.status}: the token needs ${WEBHOOKS_STATE_SCOPE})`
        : `whether the license webhooks are enabled could not be read: ${error.message}`;
  }
  if (enabled === false) {
    problems.push(`the license webhooks of ${app} are disabled on the license`);
  } else if (stateUnknown) warnings.push(stateUnknown);

  const registeredLine = `chat_deactivated license webhook ${hook.id} of ${app} → ${hook.url}`;
  if (problems.length) {
    const fix =
      enabled === false
        ? 'install the app on the license (Developer Console → Private installation; docs/webhooks.md), or, if they were disabled with disable_license_webhooks, enable_license_webhooks'
        : `unregister --id ${hook.id}, then ${register}`;
    return failed('webhooks', `${registeredLine}; ${[...problems, ...warnings].join('; ')}`, fix);
  }
  if (warnings.length) {
    return warning(
      'webhooks',
      `${registeredLine}, ${enabled ? 'enabled' : 'state unknown'}, ${secret}; ${warnings.join('; ')}`,
      filters.length || licensed.length > 1
        ? `npm run webhooks -- unregister --id <id> --owner-client-id ${owner}, then ${register}`
        : `give the token the scope ${WEBHOOKS_STATE_SCOPE}`,
    );
  }
  return ok('webhooks', `${registeredLine}, enabled on the license, ${secret}`);
}

function registerCommand(webhooks: WebhookSetup, owner: string): string {
  const secret = webhooks.secretId ? ` --secret-id ${webhooks.secretId}` : '';
  return `npm run webhooks -- register --url ${webhooks.receiverUrl} --owner-client-id ${owner}${secret}`;
}

/** The filters a registered webhook carries that narrow what is delivered (none: every ended chat). */
function filterNames(hook: RegisteredWebhook): string[] {
  const filters = (hook as Record<string, unknown>)['filters'];
  if (!filters || typeof filters !== 'object') return [];
  return Object.entries(filters as Record<string, unknown>)
    .filter(([, value]) => value !== undefined && value !== null && value !== false)
    .map(([name]) => name);
}

/** The same receiver: scheme, host and port alike, and the path too unless any path reaches it. */
export function sameReceiver(registered: string, receiver: Pick<WebhookSetup, 'receiverUrl' | 'anyPath'>): boolean {
  let a: URL;
  let b: URL;
  try {
    a = new URL(registered);
    b = new URL(receiver.receiverUrl);
  } catch {
    return false;
  }
  if (a.origin !== b.origin) return false;
  const path = (url: URL) => url.pathname.replace(/\/+$/, '');
  return receiver.anyPath === true || path(a) === path(b);
}
