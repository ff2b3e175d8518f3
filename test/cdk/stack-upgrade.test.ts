import { readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { synthStack } from '#test/support/synth-stack.ts';

/** A template's Glue tables by logical ID: the name each claims and whether it is a table or a view. */
type GlueTables = Record<string, { name: string; tableType: string }>;

/**
 * The Glue tables of a stack as deployed from an earlier commit (test/fixtures/deployed-stacks:
 * that commit synthesized, its AWS::Glue::Table resources kept).
 */
function deployedAt(commit: string): GlueTables {
  const file = path.join(import.meta.dirname, '../fixtures/deployed-stacks', `${commit}.json`);
  return (JSON.parse(readFileSync(file, 'utf8')) as { glueTables: GlueTables }).glueTables;
}

function glueTablesOf(template: { Resources: Record<string, any> }): GlueTables {
  return Object.fromEntries(
    Object.entries(template.Resources)
      .filter(([, resource]) => resource.Type === 'AWS::Glue::Table')
      .map(([id, resource]) => [
        id,
        { name: resource.Properties.TableInput.Name, tableType: resource.Properties.TableInput.TableType },
      ]),
  );
}

/**
 * What a CloudFormation update from `before` to `after` cannot do with Glue table names. It creates
 * new logical IDs and updates kept ones first, and deletes removed ones last (cleanup), so a name
 * that moves to another logical ID is claimed twice (CreateTable: AlreadyExistsException); and a
 * kept logical ID whose name changes asks Glue for a rename, which UpdateTable does not do (the
 * table name is the table's key). Both are reported; an update in place under the same name is not.
 */
function upgradeProblems(before: GlueTables, after: GlueTables): string[] {
  const holderBefore = new Map(Object.entries(before).map(([id, table]) => [table.name, id]));
  const problems: string[] = [];
  for (const [id, table] of Object.entries(after)) {
    const holder = holderBefore.get(table.name);
    if (holder !== undefined && holder !== id) problems.push(`${table.name}: ${id} claims it while ${holder} holds it`);
    const was = before[id];
    if (was !== undefined && was.name !== table.name) problems.push(`${id}: renamed ${was.name} -> ${table.name}`);
  }
  return problems.sort();
}

const BEFORE_COMPACTION = 'de7956e';
const CHATS_COMPACTED = 'f461844';
const CHAT_FILES_COMPACTED = 'eb7a9bb';

describe('upgrading a deployed stack: no Glue table name is claimed twice', () => {
  let now: GlueTables;
  beforeAll(() => {
    now = glueTablesOf(synthStack().template.toJSON() as { Resources: Record<string, any> });
  }, 60_000);

  it('claims each name once', () => {
    const names = Object.values(now).map((table) => table.name);
    expect(new Set(names).size).toBe(names.length);
  });

  it('from a stack deployed before compaction: chats, chat_threads and chat_files are updated in place into views', () => {
    const before = deployedAt(BEFORE_COMPACTION);
    expect(upgradeProblems(before, now)).toEqual([]);
    for (const name of ['chats', 'chat_threads', 'chat_files']) {
      const [id, table] = Object.entries(before).find(([, t]) => t.name === name)!;
      expect(table.tableType).toBe('EXTERNAL_TABLE');
      expect(now[id]).toEqual({ name, tableType: 'VIRTUAL_VIEW' });
    }
    // Every table of that stack is still there under its logical ID: nothing is replaced.
    for (const [id, table] of Object.entries(before)) expect(now[id]?.name).toBe(table.name);
  });

  it('the check finds what the earlier upgrades did: a table renamed under its logical ID while a new view took its name', () => {
    expect(upgradeProblems(deployedAt(BEFORE_COMPACTION), deployedAt(CHATS_COMPACTED))).toEqual([
      'AthenaChatThreadsTableA2B36D38: renamed chat_threads -> chat_threads_json',
      'AthenaChatsTableA0A65D6C: renamed chats -> chats_json',
      'chat_threads: AthenaChatThreadsViewC053D90A claims it while AthenaChatThreadsTableA2B36D38 holds it',
      'chats: AthenaChatsView897766C0 claims it while AthenaChatsTableA0A65D6C holds it',
    ]);
    expect(upgradeProblems(deployedAt(CHATS_COMPACTED), deployedAt(CHAT_FILES_COMPACTED))).toEqual([
      'AthenaChatFilesTable9D440665: renamed chat_files -> chat_files_json',
      'chat_files: AthenaChatFilesView89D3BBA0 claims it while AthenaChatFilesTable9D440665 holds it',
    ]);
  });

  it('from a stack deployed from main during the interim shapes, the collisions docs/compaction.md lists', () => {
    // The views went back to the logical IDs their names had before compaction: a stack deployed
    // with chats views (f461844) collides on chats and chat_threads (its chat_files is still a
    // table, updated in place), one deployed with the chat_files view too (eb7a9bb) on all three.
    expect(upgradeProblems(deployedAt(CHATS_COMPACTED), now)).toEqual([
      'AthenaChatThreadsTableA2B36D38: renamed chat_threads_json -> chat_threads',
      'AthenaChatsTableA0A65D6C: renamed chats_json -> chats',
      'chat_threads: AthenaChatThreadsTableA2B36D38 claims it while AthenaChatThreadsViewC053D90A holds it',
      'chat_threads_json: AthenaChatThreadsJsonTableC53F76C1 claims it while AthenaChatThreadsTableA2B36D38 holds it',
      'chats: AthenaChatsTableA0A65D6C claims it while AthenaChatsView897766C0 holds it',
      'chats_json: AthenaChatsJsonTable4EE53594 claims it while AthenaChatsTableA0A65D6C holds it',
    ]);
    const fromChatFilesView = upgradeProblems(deployedAt(CHAT_FILES_COMPACTED), now);
    expect(fromChatFilesView).toHaveLength(9);
    expect(fromChatFilesView).toContain(
      'chat_files: AthenaChatFilesTable9D440665 claims it while AthenaChatFilesView89D3BBA0 holds it',
    );
  });
});
