import * as z from '#shared/zod-mini.ts';
import { acceptedBy, createRetryingApi, type RetryingApiTuning, toLivechatError } from './retrying-api.ts';

/**
 * How long LiveChat keeps a license's chats: the read-only license properties
 * `limits.archives_retention.base`, `.additional` and `.hard` (months, `-1` = unlimited), read
 * with Configuration API v3.6 `list_license_properties`
 * (livechat-public-docs src/pages/management/configuration-api/index.mdx "List License
 * Properties": `POST /v3.6/configuration/action/list_license_properties`, body `{namespace,
 * name_prefix}`, scope `properties.license.value--all:ro` for other namespaces' public
 * properties; the properties: src/pages/messaging/references/default-properties/index.mdx
 * "limits"). The answer is `{ "<namespace>": { "<name>": value } }`
 * (payloads/management/v3.6/configuration-api/responses/properties/listLicenseProperties.json);
 * the default-properties page wraps the same object in `properties`, so both are read.
 */
export const LICENSE_PROPERTIES_PATH = '/v3.6/configuration/action/list_license_properties';
export const LICENSE_PROPERTIES_SCOPE = 'properties.license.value--all:ro';

/** Months of chat history LiveChat serves; `unlimited` when any part says -1 and nothing caps it. */
export type Retention = { months: number } | { unlimited: true };

const months = z.optional(z.number().check(z.multipleOf(1)));
const limitsSchema = z.object({
  'archives_retention.base': months,
  'archives_retention.additional': months,
  'archives_retention.hard': months,
});
const answerSchema = z.union([
  z.object({ limits: limitsSchema }),
  z.object({ properties: z.object({ limits: limitsSchema }) }),
]);

/** The effective retention: base + additional (-1 in either = unlimited), never beyond `hard`. */
export function retentionOf(limits: z.infer<typeof limitsSchema>): Retention | undefined {
  const base = limits['archives_retention.base'];
  if (base === undefined) return undefined;
  const additional = limits['archives_retention.additional'] ?? 0;
  const hard = limits['archives_retention.hard'] ?? -1;
  const sum = base === -1 || additional === -1 ? -1 : base + additional;
  if (hard !== -1 && (sum === -1 || sum > hard)) return { months: hard };
  return sum === -1 ? { unlimited: true } : { months: sum };
}

/**
 * The first day whose chats LiveChat still serves on `today` (both YYYY-MM-DD): the same day of
 * the month, `months` months back (the month's last day when it is shorter).
 */
export function oldestServedDay(today: string, retention: Retention): string | undefined {
  if ('unlimited' in retention) return undefined;
  const [year, month, day] = today.split('-').map(Number) as [number, number, number];
  const first = new Date(Date.UTC(year, month - 1 - retention.months, 1));
  const lastDay = new Date(Date.UTC(first.getUTCFullYear(), first.getUTCMonth() + 1, 0)).getUTCDate();
  first.setUTCDate(Math.min(day, lastDay));
  return first.toISOString().slice(0, 10);
}

export interface LicenseRetentionOptions extends RetryingApiTuning {
  apiUrl: string;
  /** The whole Authorization header value (Bearer, or Basic base64(account_id:PAT)). */
  authorization: string;
  region?: string;
}

/** Reads the license's retention; undefined when the answer has no `archives_retention.base`. */
export async function readLicenseRetention(options: LicenseRetentionOptions): Promise<Retention | undefined> {
  const api = createRetryingApi({
    ...options,
    headers: {
      Authorization: options.authorization,
      'Content-Type': 'application/json',
      Accept: 'application/json',
      ...(options.region ? { 'X-Region': options.region } : {}),
    },
    methods: ['post'],
  });
  try {
    const answer = await api.json(
      LICENSE_PROPERTIES_PATH.slice(1),
      { method: 'post', json: { namespace: 'limits', name_prefix: 'archives_retention' } },
      acceptedBy(answerSchema),
    );
    return retentionOf('limits' in answer ? answer.limits : answer.properties.limits);
  } catch (error) {
    throw toLivechatError(
      error,
      LICENSE_PROPERTIES_PATH,
      `the token may not read the license's limits: it needs the scope ${LICENSE_PROPERTIES_SCOPE}`,
    );
  }
}
