/**
 * The Configuration API v3.6 webhook methods, as the v3.6 simulator serves them
 * (livechat/livechat-public-docs src/pages/management/configuration-api/index.mdx "Register
 * Webhook", "List Webhooks", "Unregister Webhook", "Enable License Webhooks", "Disable License
 * Webhooks", "Get License Webhooks State"; answers shaped as
 * payloads/management/v3.6/configuration-api/responses/webhooks/registerWebhook.json,
 * listWebhooks.json and getWebhooksState.json). `POST /v3.6/configuration/action/<method>` with a
 * JSON body; unregister, enable and disable answer 200 without a payload. Like LiveChat's listing,
 * `list_webhooks` never returns the `secret_key` a webhook was registered with. `webhookAnswerFaults`
 * carries a method out and then loses its answer, as a network or a proxy can.
 */
import { randomBytes } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { htmlErrorPage, truncateJson } from './faults.ts';
import type { Reply } from './http-host.ts';

export const WEBHOOK_METHODS_PREFIX = '/v3.6/configuration/action/';
const METHODS = [
  'register_webhook',
  'list_webhooks',
  'unregister_webhook',
  'enable_license_webhooks',
  'disable_license_webhooks',
  'get_license_webhooks_state',
] as const;
export type WebhookMethod = (typeof METHODS)[number];

/** A method carried out whose answer is then lost, for its first `times` requests (default 1). */
export interface WebhookAnswerFault {
  method: WebhookMethod;
  /**
   * `malformed`: 200 with the JSON cut short; `html`: 200 with an HTML page (a proxy's); `cut`: the
   * connection closes halfway through the body; `stall`: half the body, then nothing; `503`: an
   * error answer although the change was made.
   */
  fault: 'malformed' | 'html' | 'cut' | 'stall' | '503';
  times?: number;
}

/** A registered webhook as the simulator keeps it (the listing leaves `secret_key` out). */
export interface SimulatedWebhook {
  id: string;
  url: string;
  action: string;
  type: 'license' | 'bot';
  owner_client_id: string;
  secret_key: string;
  description?: string;
  filters?: Record<string, unknown>;
  additional_data?: string[];
}

export interface WebhookConfigurationOptions {
  /** Webhooks registered before the simulator starts. */
  webhooks?: SimulatedWebhook[];
  /**
   * Apps (Client IDs) whose license webhooks are disabled on the license: the app is not installed,
   * or `disable_license_webhooks` was called. Every other app's are enabled (installed).
   */
  licenseWebhooksDisabled?: string[];
  /** `forbidden`: the webhook methods answer 403 `authorization` (a token without the webhooks scopes). */
  webhookConfiguration?: 'readable' | 'forbidden';
  webhookAnswerFaults?: WebhookAnswerFault[];
}

export interface WebhookConfiguration {
  /** Whether `path` is one of the webhook methods. */
  serves(path: string): boolean;
  /** Answers one request (auth and region already checked). */
  reply(path: string, raw: string, res: ServerResponse, send: Reply): void;
  /** What is registered now, secret_key included (for tests). */
  registered(): SimulatedWebhook[];
}

class ValidationError extends Error {}

export function webhookConfiguration(options: WebhookConfigurationOptions): WebhookConfiguration {
  const webhooks = (options.webhooks ?? []).map((hook) => ({ ...hook }));
  const disabled = new Set(options.licenseWebhooksDisabled ?? []);
  const answerFaults = (options.webhookAnswerFaults ?? []).map((rule) => ({ rule, used: 0 }));
  /** The answer of a method already carried out, lost as `fault` says. */
  const lose = (fault: WebhookAnswerFault['fault'], answer: string, res: ServerResponse, send: Reply) => {
    const whole = answer || '{}';
    const half = whole.slice(0, Math.ceil(whole.length / 2));
    if (fault === 'malformed') return send(res, 200, truncateJson(whole));
    if (fault === 'html') return send(res, 200, htmlErrorPage(200), { 'Content-Type': 'text/html' });
    if (fault === '503') return send(res, 503, JSON.stringify({ error: { type: 'internal', message: 'Internal' } }));
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(whole)) });
    if (fault === 'cut') res.write(half, () => res.socket?.destroy());
    else res.write(half); // stall: the rest never comes (close() ends the connection)
  };
  const methodOf = (path: string) => {
    const method = path.startsWith(WEBHOOK_METHODS_PREFIX) ? path.slice(WEBHOOK_METHODS_PREFIX.length) : '';
    return (METHODS as readonly string[]).includes(method) ? (method as WebhookMethod) : undefined;
  };
  const answer = (method: WebhookMethod, body: Record<string, unknown>): unknown => {
    const text = (name: string, required = true): string | undefined => {
      const value = body[name];
      if (value === undefined && !required) return undefined;
      if (typeof value !== 'string' || value === '') throw new ValidationError(`${name}: required string`);
      return value;
    };
    switch (method) {
      case 'register_webhook': {
        const type = text('type');
        if (type !== 'license' && type !== 'bot') throw new ValidationError('type: expected license or bot');
        const url = text('url') as string;
        if (url.length > 500) throw new ValidationError('url: at most 500 characters');
        const hook: SimulatedWebhook = {
          id: randomBytes(16).toString('hex'),
          url,
          action: text('action') as string,
          type,
          owner_client_id: text('owner_client_id') as string,
          secret_key: text('secret_key') as string,
          ...(typeof body['description'] === 'string' ? { description: body['description'] } : {}),
          ...(body['filters'] && typeof body['filters'] === 'object'
            ? { filters: body['filters'] as Record<string, unknown> }
            : {}),
        };
        const sameAction = webhooks.filter(
          (h) => h.owner_client_id === hook.owner_client_id && h.action === hook.action,
        );
        if (sameAction.length >= 3) throw new ValidationError('up to three webhooks for every action');
        webhooks.push(hook);
        return { id: hook.id };
      }
      case 'list_webhooks': {
        const owner = text('owner_client_id');
        return webhooks
          .filter((hook) => hook.owner_client_id === owner)
          .map(({ secret_key: _secret, ...listed }) => listed);
      }
      case 'unregister_webhook': {
        const id = text('id');
        const owner = text('owner_client_id');
        const index = webhooks.findIndex((hook) => hook.id === id && hook.owner_client_id === owner);
        if (index < 0) throw new ValidationError('webhook not found');
        webhooks.splice(index, 1);
        return undefined;
      }
      case 'enable_license_webhooks':
        disabled.delete(text('owner_client_id') as string);
        return undefined;
      case 'disable_license_webhooks':
        disabled.add(text('owner_client_id') as string);
        return undefined;
      case 'get_license_webhooks_state':
        return { license_webhooks_enabled: !disabled.has(text('owner_client_id') as string) };
    }
  };
  return {
    serves: (path) => methodOf(path) !== undefined,
    reply(path, raw, res, send) {
      const error = (status: number, type: string, message: string) =>
        send(res, status, JSON.stringify({ error: { type, message } }));
      if (options.webhookConfiguration === 'forbidden') {
        return error(403, 'authorization', 'Requester does not have the required scope');
      }
      let body: unknown;
      try {
        body = JSON.parse(raw || '{}');
      } catch {
        return error(400, 'validation', 'body is not JSON');
      }
      if (!body || typeof body !== 'object' || Array.isArray(body))
        return error(400, 'validation', 'body must be an object');
      try {
        const method = methodOf(path) as WebhookMethod;
        const result = answer(method, body as Record<string, unknown>);
        const text = result === undefined ? '' : JSON.stringify(result);
        const fault = answerFaults.find(({ rule, used }) => rule.method === method && used < (rule.times ?? 1));
        if (fault) {
          fault.used += 1;
          return lose(fault.rule.fault, text, res, send);
        }
        return send(res, 200, text);
      } catch (problem) {
        if (problem instanceof ValidationError) return error(400, 'validation', problem.message);
        throw problem;
      }
    },
    registered: () => webhooks.map((hook) => ({ ...hook })),
  };
}
