import { ARCHIVES_PREFIX, CHATS_PREFIX, DAY_PLANS_PREFIX } from './lake-layout.ts';
import type { LakeSink } from './sinks/lake-sink.ts';

/**
 * Which LiveChat API archives a lake now: the source of its newest day plan (a lake may move from
 * v2 to v3.6), or, for lakes older than day plans, v3.6 if it holds `chat_threads` files, v2 if
 * it holds only `chats` files; undefined for an empty lake.
 */
export async function lakeSourceOf(sink: LakeSink): Promise<string | undefined> {
  const plans = (await sink.list(DAY_PLANS_PREFIX)).filter((key) => key.endsWith('.json')).sort();
  const newestDay = plans.at(-1)?.split('/').at(-2);
  let newest: { plannedAt: string; source: string } | undefined;
  for (const key of plans.filter((plan) => plan.split('/').at(-2) === newestDay)) {
    const body = await sink.get(key);
    if (!body) continue;
    const plan = JSON.parse(Buffer.from(body).toString('utf8')) as { plannedAt?: string; source?: string };
    if (typeof plan.source !== 'string') continue;
    const plannedAt = String(plan.plannedAt ?? '');
    if (!newest || plannedAt > newest.plannedAt) newest = { plannedAt, source: plan.source };
  }
  if (newest) return newest.source;
  if ((await sink.list(ARCHIVES_PREFIX)).some((key) => key.endsWith('.json.gz'))) return 'v3.6';
  if ((await sink.list(CHATS_PREFIX)).some((key) => key.endsWith('.json.gz'))) return 'v2';
  return undefined;
}
