import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalFileSink } from '#lake/sinks/local-file-sink.ts';
import { eraseVisitor } from '#privacy/erase-visitor.ts';
import { addDays, localDay } from '#shared/day-range.ts';
import { type RunningSimulator, startSimulator } from '#simulator/index.ts';
import { runNamedOnce } from '#test/support/lake-reader.ts';
import { archiveLocally } from '#test/support/local-archive.ts';

// Recent days, inside day_completeness's default window (the last 30 days).
const today = localDay(new Date(), 'UTC');
const DAYS = [addDays(today, -2), addDays(today, -1)];

const dayCompleteness = (lakeDir: string) => runNamedOnce(lakeDir, 'day_completeness');

describe('day_completeness after an erase', () => {
  let sim: RunningSimulator;
  beforeAll(async () => {
    sim = await startSimulator({ from: DAYS[0]!, to: DAYS.at(-1)!, chatsPerDay: () => 60, seed: 17 });
  });
  afterAll(() => sim.close());

  it('counts erased chats as accounted for: after the erase, and after the days are archived again', async () => {
    const { out } = await archiveLocally(sim, DAYS);
    const visitorIds = sim.allChats().map((chat) => chat['visitor_id'] as string);
    const visitorId = visitorIds.find((id) => visitorIds.indexOf(id) !== visitorIds.lastIndexOf(id))!;
    const erased = sim.allChats().filter((chat) => chat['visitor_id'] === visitorId);
    expect(erased.length).toBeGreaterThan(1);
    const erasedOn = (day: string) => erased.filter((chat) => sim.chats(day).some((c) => c.id === chat.id)).length;
    const expected = DAYS.map((day) => ({
      dt: day,
      expected_chats: 60 - erasedOn(day),
      archived_chats: 60 - erasedOn(day),
      missing: 0,
      status: 'complete',
    }));

    await eraseVisitor({ sink: new LocalFileSink(out), target: { kind: 'visitor-id', value: visitorId } });
    expect(await dayCompleteness(out)).toMatchObject(expected);

    const again = await archiveLocally(sim, DAYS, { sink: () => new LocalFileSink(out) });
    expect(again.manifest.totals.dropped).toBe(erased.length);
    expect(await dayCompleteness(out)).toMatchObject(expected);
  });
});
