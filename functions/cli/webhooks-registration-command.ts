import { InvalidInputError, LivechatAuthError, LivechatError } from '#shared/errors.ts';
import { DEFAULT_API_URL } from '#sources/v2/livechat-client.ts';
import { authorizationHeader } from '#sources/v36/list-archives-client.ts';
import { webhookSecretOf } from '#sources/v36/webhook-delivery.ts';
import { createWebhookRegistry } from '#sources/v36/webhook-registration.ts';
import { regionFlag } from './archive-args.ts';
import { credentialsFrom } from './env-credentials.ts';
import { formatTable } from './format-table.ts';
import { firstLine, parseFlags, stringFlags, urlFlag } from './parse-flags.ts';

export const REGISTRATION_USAGE = `usage: npm run webhooks -- register --url URL --owner-client-id ID [--secret-id SECRET] [--description TEXT]
       npm run webhooks -- list --owner-client-id ID
       npm run webhooks -- unregister --id WEBHOOK_ID --owner-client-id ID
   (each also takes [--api-url URL] [--region dal|fra])
Registers, lists or removes the chat_deactivated license webhook of your Developer Console app (Configuration
API v3.6; the token needs the scope webhooks.configuration:rw). A webhook cannot be edited: unregister, then
register again. The secret_key is LIVECHAT_WEBHOOK_SECRET, or the Secrets Manager secret --secret-id (the
stack's WebhookSecretArn output); it is never printed.
environment: LIVECHAT_ACCOUNT_ID and LIVECHAT_PAT, or LIVECHAT_BEARER_TOKEN; LIVECHAT_WEBHOOK_SECRET
exit codes: 0 done, 1 LiveChat refused the request (list: no chat_deactivated webhook, or not enabled on
  the license; register/unregister: or its answer was lost, so it was not sent again: check with list),
  2 bad arguments, 3 credentials refused`;

export interface RegistrationIo {
  env: NodeJS.ProcessEnv;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  /** Reads a Secrets Manager secret's text (tests stub it); default: the AWS SDK with the usual AWS environment. */
  readSecret?: (secretId: string) => Promise<string>;
  clientOverrides?: { timeoutMs?: number; baseRetryDelayMs?: number };
}

/** `npm run webhooks -- register|list|unregister`. */
export async function registrationCommand(
  command: 'register' | 'list' | 'unregister',
  argv: readonly string[],
  io: RegistrationIo,
): Promise<number> {
  try {
    const values = parseFlags(
      argv,
      stringFlags('url', 'owner-client-id', 'secret-id', 'description', 'id', 'api-url', 'region'),
    );
    const owner = required(
      values['owner-client-id'],
      '--owner-client-id ID (the Client ID of your Developer Console app)',
    );
    const credentials = credentialsFrom({ source: 'v3.6' }, io.env);
    if (typeof credentials === 'string' || credentials.kind !== 'v3.6') {
      throw new InvalidInputError(typeof credentials === 'string' ? credentials : 'v3.6 credentials needed');
    }
    const registry = createWebhookRegistry({
      ...io.clientOverrides,
      apiUrl: urlFlag('api-url', values['api-url'] ?? DEFAULT_API_URL),
      authorization: authorizationHeader(credentials.credentials),
      ...(values.region !== undefined ? { region: regionFlag(values.region) } : {}),
    });
    if (command === 'register') {
      const url = urlFlag('url', required(values.url, '--url URL (where LiveChat posts: the stack WebhookUrl output)'));
      if (!url.startsWith('https://'))
        throw new InvalidInputError(`--url must be https (LiveChat posts the secret_key in the body), got "${url}"`);
      if (url.length > 500) throw new InvalidInputError('--url is longer than the 500 characters LiveChat accepts');
      const secretKey = await webhookSecret(values['secret-id'], io);
      const id = await registry.register({
        url,
        secretKey,
        ownerClientId: owner,
        description: values.description ?? 'livechat-archiver: ended chats into the lake',
      });
      const enabled = await registry.enabled(owner).catch(() => undefined);
      io.stdout.write(`registered chat_deactivated webhook ${id} → ${url}\n`);
      io.stdout.write(
        enabled === false
          ? 'warning: license webhooks of this app are not enabled on the license: install the app (docs/webhooks.md)\n'
          : `license webhooks enabled: ${enabled === undefined ? 'unknown (needs webhooks.state:ro)' : 'yes'}\n`,
      );
    } else if (command === 'list') {
      const hooks = await registry.list(owner);
      const rows = hooks.map(({ id, action, type, url, description }) => ({ id, action, type, url, description }));
      io.stdout.write(`${hooks.length ? formatTable(rows) : 'no webhooks registered for this app'}\n`);
      const deactivated = hooks.some((hook) => hook.action === 'chat_deactivated' && hook.type === 'license');
      const enabled = await registry.enabled(owner).catch(() => undefined);
      io.stdout.write(
        `chat_deactivated license webhook: ${deactivated ? 'registered' : 'NOT registered (npm run webhooks -- register)'}; ` +
          `enabled on the license: ${enabled === undefined ? 'unknown (needs webhooks.state:ro)' : enabled ? 'yes' : 'NO (install the app)'}\n`,
      );
      if (!deactivated || enabled === false) return 1;
    } else {
      const id = required(values.id, '--id WEBHOOK_ID (see: npm run webhooks -- list)');
      await registry.unregister(id, owner);
      io.stdout.write(`unregistered webhook ${id}\n`);
    }
    return 0;
  } catch (error) {
    if (error instanceof InvalidInputError) {
      io.stderr.write(`error: ${error.message}\n${REGISTRATION_USAGE}\n`);
      return 2;
    }
    if (error instanceof LivechatError) {
      io.stderr.write(`error: ${firstLine(error)}\n`);
      return error instanceof LivechatAuthError ? 3 : 1;
    }
    throw error;
  }
}

function required(value: string | undefined, what: string): string {
  if (!value) throw new InvalidInputError(`${what} is required`);
  return value;
}

/** LIVECHAT_WEBHOOK_SECRET, or the text of the Secrets Manager secret `secretId` (plain, or {"secretKey": …}). */
async function webhookSecret(secretId: string | undefined, io: RegistrationIo): Promise<string> {
  if (secretId && io.env.LIVECHAT_WEBHOOK_SECRET) {
    throw new InvalidInputError('give the secret one way: LIVECHAT_WEBHOOK_SECRET or --secret-id, not both');
  }
  if (!secretId) {
    const secret = io.env.LIVECHAT_WEBHOOK_SECRET;
    if (!secret)
      throw new InvalidInputError('set LIVECHAT_WEBHOOK_SECRET, or pass --secret-id SECRET (Secrets Manager)');
    return secret;
  }
  const read = io.readSecret ?? readSecretsManager;
  return webhookSecretOf(await read(secretId));
}

async function readSecretsManager(secretId: string): Promise<string> {
  const { SecretsManagerClient, GetSecretValueCommand } = await import('@aws-sdk/client-secrets-manager');
  const answer = await new SecretsManagerClient({}).send(new GetSecretValueCommand({ SecretId: secretId }));
  if (!answer.SecretString) throw new InvalidInputError(`the secret ${secretId} has no text value`);
  return answer.SecretString;
}
