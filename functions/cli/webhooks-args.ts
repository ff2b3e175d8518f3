import { InvalidInputError } from '#shared/errors.ts';
import { timeZoneOrThrow } from '#shared/time-zone.ts';
import { DEFAULT_API_URL } from '#sources/v2/livechat-client.ts';
import { regionFlag } from './archive-args.ts';
import { integerFlag, parseFlags, stringFlags, urlFlag } from './parse-flags.ts';

export const WEBHOOKS_USAGE = `usage: npm run webhooks -- --out LAKE [--api-url URL] [--port N] [--host H] [--region dal|fra] [--time-zone ZONE]
       npm run webhooks -- register|list|unregister … (--help for each: the webhook's registration)
Receives LiveChat's chat_deactivated webhooks and archives each ended thread into the lake folder within
seconds (get_chat, Agent Chat API v3.6), in the partition the nightly archive would put it in; the nightly
run merges it, one row per thread. Prints the URL it listens on; Ctrl-C or SIGTERM finishes what is in
flight and exits.
  --out LAKE       a v3.6 lake folder (a lake archived from REST API v2 is refused)
  --port N         default 8787 (0: any free port); --host H default 127.0.0.1
  --time-zone      the zone the lake's days are cut in (default: the lake's recorded zone, else UTC)
environment: LIVECHAT_WEBHOOK_SECRET (the secret_key the webhook was registered with), and
  LIVECHAT_ACCOUNT_ID and LIVECHAT_PAT (scope chats--all:ro), or LIVECHAT_BEARER_TOKEN
exit codes: 0 stopped cleanly, 1 a delivered chat could not be archived, 2 bad arguments or lake, 3 credentials refused
see docs/webhooks.md`;

export interface WebhooksServeArgs {
  out: string;
  apiUrl: string;
  port: number;
  host: string;
  region?: string;
  /** Absent: the lake's recorded zone, else UTC. */
  timeZone?: string;
}

export const DEFAULT_WEBHOOKS_PORT = 8787;

export function parseWebhooksServeArgs(argv: readonly string[]): WebhooksServeArgs {
  const values = parseFlags(argv, stringFlags('out', 'api-url', 'port', 'host', 'region', 'time-zone'));
  if (!values.out) throw new InvalidInputError('--out LAKE is required (the lake folder the threads go to)');
  const host = values.host ?? '127.0.0.1';
  if (!/^[A-Za-z0-9.:[\]-]+$/.test(host))
    throw new InvalidInputError(`--host must be a host name or address, got "${host}"`);
  return {
    out: values.out,
    apiUrl: urlFlag('api-url', values['api-url'] ?? DEFAULT_API_URL),
    port: values.port === undefined ? DEFAULT_WEBHOOKS_PORT : integerFlag('port', values.port, 0, 65_535),
    host,
    ...(values.region !== undefined ? { region: regionFlag(values.region) } : {}),
    ...(values['time-zone'] !== undefined ? { timeZone: timeZoneOrThrow(values['time-zone'], '--time-zone') } : {}),
  };
}
