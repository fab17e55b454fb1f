// `crosscloud-identity-monitor people --in DIR`: the people-across-clouds findings, offline, from the NDJSON files
// that dry runs (`collect … --dry-run --out DIR`) append to, one <Table>.ndjson per table. A file that is not
// there is an empty table: the findings then say what was not judged (a missing snapshot never fires one).
import { createReadStream } from 'node:fs';
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { matchIdentities, type PeopleInput } from '../people/matchIdentities.js';
import { renderPeopleReport } from '../people/report.js';
import type { TableName, TableRows } from '../tables/generated.js';

const peopleTables = {
  keys: 'AWSIAMAccessKeys_CL',
  users: 'EntraUsers_CL',
  runs: 'CollectorRuns_CL',
  signIns: 'EntraSignIns_CL',
  audits: 'EntraAuditLogs_CL',
} as const satisfies Record<keyof PeopleInput, TableName>;

/** The rows of `<directory>/<table>.ndjson`, or none when the file does not exist. */
export async function readNdjsonTable<T extends TableName>(
  directory: string,
  table: T,
): Promise<TableRows[T][]> {
  const file = join(directory, `${table}.ndjson`);
  try {
    await access(file);
  } catch {
    return [];
  }
  const rows: TableRows[T][] = [];
  const lines = createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity });
  let number = 0;
  for await (const line of lines) {
    number += 1;
    if (line.trim() === '') continue;
    try {
      rows.push(JSON.parse(line) as TableRows[T]);
    } catch {
      throw new Error(`${file} line ${number} is not JSON`);
    }
  }
  return rows;
}

/** Every table the findings read, from `directory`. */
export async function readPeopleInput(directory: string): Promise<PeopleInput & { missing: string[] }> {
  const missing: string[] = [];
  const read = async <T extends TableName>(table: T) => {
    const rows = await readNdjsonTable(directory, table);
    if (rows.length === 0) missing.push(table);
    return rows;
  };
  return {
    keys: await read(peopleTables.keys),
    users: await read(peopleTables.users),
    runs: await read(peopleTables.runs),
    signIns: await read(peopleTables.signIns),
    audits: await read(peopleTables.audits),
    missing,
  };
}

/** The report `people` prints for the files in `directory`, and the tables that were missing or empty. */
export async function peopleReport(
  directory: string,
  options: { all?: boolean; now?: Date } = {},
): Promise<{ text: string; missing: string[] }> {
  const { missing, ...input } = await readPeopleInput(directory);
  const now = options.now ?? new Date();
  return { text: renderPeopleReport(matchIdentities(input, { now }), { all: options.all, now }), missing };
}
