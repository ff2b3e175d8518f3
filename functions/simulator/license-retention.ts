/**
 * Chat-history retention as both simulators model it, and the Configuration API v3.6
 * `list_license_properties` method that tells it (livechat-public-docs
 * src/pages/management/configuration-api/index.mdx "List License Properties"; answer shape:
 * payloads/management/v3.6/configuration-api/responses/properties/listLicenseProperties.json;
 * the `limits` namespace and its `archives_retention.*` properties, months with -1 = unlimited:
 * src/pages/messaging/references/default-properties/index.mdx).
 *
 * Beyond retention: `list_archives` may answer the error `limit_reached`
 * (src/pages/management/limits/index.mdx lists it among list_archives' errors; the status is not
 * documented, 400 here), or serve nothing older than retention (`empty`). The v2 API documents
 * neither, so the v2 simulator serves nothing older (`empty`).
 */
import type { ServerResponse } from 'node:http';
import { localDay, startOfLocalDay } from '#shared/time-zone.ts';
import { LICENSE_PROPERTIES_PATH, oldestServedDay, retentionOf } from '#sources/license-retention.ts';
import type { Reply } from './http-host.ts';

export { LICENSE_PROPERTIES_PATH };

export interface RetentionOptions {
  /** `archives_retention.base` in months; -1 = unlimited (the docs' example). */
  months: number;
  additional?: number;
  hard?: number;
  /** list_archives' answer for a `filters.from` older than retention (default `empty`). */
  beyond?: 'limit_reached' | 'empty';
  /** The day retention counts back from (default: today in the account's zone). */
  today?: string;
}

export interface LicenseOptions {
  retention?: RetentionOptions;
  /** `forbidden`: list_license_properties answers 403 `authorization` (a token without the scope). */
  licenseProperties?: 'readable' | 'forbidden';
}

/** Start (Unix seconds) of the oldest day the account still serves, or undefined when unlimited. */
export function retentionCutoffTs(options: LicenseOptions, accountZone: string): number | undefined {
  const limits = limitsOf(options.retention);
  const retention = retentionOf(limits);
  if (!retention) return undefined;
  const today = options.retention?.today ?? localDay(Date.now(), accountZone);
  const oldest = oldestServedDay(today, retention);
  return oldest === undefined ? undefined : startOfLocalDay(oldest, accountZone) / 1000;
}

function limitsOf(retention: RetentionOptions | undefined): Record<string, number> {
  return {
    'archives_retention.additional': retention?.additional ?? 0,
    'archives_retention.base': retention?.months ?? -1,
    'archives_retention.hard': retention?.hard ?? -1,
    'customers_retention.additional': 0,
    'customers_retention.base': 2,
    'customers_retention.hard': -1,
  };
}

/**
 * Answers `POST list_license_properties` (auth already checked): the `limits` namespace filtered
 * by `namespace` and `name_prefix`, or 403 when the token may not read it.
 */
export function replyLicenseProperties(options: LicenseOptions, body: string, res: ServerResponse, reply: Reply): void {
  if (options.licenseProperties === 'forbidden') {
    const error = { type: 'authorization', message: 'Requester does not have the required scope' };
    return reply(res, 403, JSON.stringify({ error }));
  }
  let request: { namespace?: unknown; name_prefix?: unknown };
  try {
    request = (JSON.parse(body || '{}') ?? {}) as typeof request;
  } catch {
    return reply(res, 400, JSON.stringify({ error: { type: 'validation', message: 'body is not JSON' } }));
  }
  const prefix = typeof request.name_prefix === 'string' ? request.name_prefix : '';
  const wanted = request.namespace === undefined || request.namespace === 'limits';
  const limits = Object.fromEntries(Object.entries(limitsOf(options.retention)).filter(([n]) => n.startsWith(prefix)));
  reply(res, 200, JSON.stringify(wanted ? { limits } : {}));
}
