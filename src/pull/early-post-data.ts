/**
 * Indexes and keys of a backup's tables built while the rest of the backup downloads (stream-restore.ts).
 *
 * A streamed restore loads tables one after the other, in archive order. As soon as a table's data is in
 * (pg_restore --verbose names the next item), the post-data entries that belong to that table alone (its
 * indexes and primary, unique and exclusion keys) can be built from the partial archive: their SQL sits
 * in the table of contents at the archive's head. Over a slow link the server is idle while it waits for
 * bytes, so these builds are nearly free, and what is left after the last byte is the last table's
 * indexes, the foreign keys and the rest of post-data.
 *
 * Which entries qualify is decided from `pg_restore --list --verbose` (which prints each entry's
 * dependencies): an INDEX or CONSTRAINT whose dependencies are exactly one table with data in this restore
 * plus pre-data objects (a function of an expression index, a collation). Anything depending on another
 * post-data entry (a partition's key attached to its parent's, a foreign key) waits for the final step.
 */
import { namedEntryOf } from '../backups/toc.js';

/** An entry of `pg_restore --list --verbose`: the line's fields and the ids it depends on. */
interface VerboseEntry {
  id: number;
  classOid: number;
  objOid: number;
  desc: string;
  line: string;
  deps: number[];
}

/** The entries of `pg_restore --list --verbose` output, with their dependencies. Pure. */
export function verboseTocEntries(verboseToc: string): VerboseEntry[] {
  const entries: VerboseEntry[] = [];
  for (const line of verboseToc.split('\n')) {
    const m = /^(\d+); (\d+) (\d+) (.*)$/.exec(line);
    if (m) {
      entries.push({ id: Number(m[1]), classOid: Number(m[2]), objOid: Number(m[3]), desc: m[4]!, line, deps: [] });
      continue;
    }
    const deps = /^;\s*depends on:((?: \d+)+)\s*$/.exec(line);
    const last = entries[entries.length - 1];
    if (deps && last) last.deps.push(...deps[1]!.trim().split(/\s+/).map(Number));
  }
  return entries;
}

/** One table's data and the entries built as soon as it is in. */
export interface EarlyTable {
  /** The TABLE DATA entry's id. */
  dataId: number;
  /** How pg_restore --verbose names it: `processing data for table "<one of these>"`. */
  names: string[];
  /** The INDEX and CONSTRAINT entries that belong to it alone. */
  entryIds: number[];
  /**
   * The table to ANALYZE once those are built (schema and name), when its statistics are then complete:
   * all its indexes are among them (an expression index has statistics of its own) and it has no extended
   * statistics (created in post-data). Undefined otherwise, or when its name reads two ways.
   */
  analyze: { schema: string; name: string } | undefined;
}

/**
 * The tables of `list` (the entries this restore runs, in archive order) with data, each with the
 * post-data entries that can be built once its data is in. Tables with nothing to build early are listed
 * too (their data's end marks the previous table's end). Pure.
 */
export function planEarlyPostData(verboseToc: string, list: string): EarlyTable[] {
  const all = verboseTocEntries(verboseToc);
  const listed = new Set(verboseTocEntries(list).map((e) => e.id));
  const byId = new Map(all.map((e) => [e.id, e]));
  // Archive order is pre-data, data, post-data: an entry before the first data entry is pre-data.
  const firstData = all.findIndex((e) => isDataEntry(e.desc));
  const preData = new Set((firstData < 0 ? all : all.slice(0, firstData)).map((e) => e.id));
  const tables: EarlyTable[] = [];
  const tableOfTableEntry = new Map<number, EarlyTable>();
  for (const entry of all) {
    if (!listed.has(entry.id) || !entry.desc.startsWith('TABLE DATA ')) continue;
    const named = namedEntryOf(entry.line, 'TABLE DATA');
    const candidates = named?.candidates ?? [];
    const table: EarlyTable = { dataId: entry.id, names: candidates.map((c) => `${c.schema}.${c.name}`), entryIds: [], analyze: candidates.length === 1 ? candidates[0] : undefined };
    tables.push(table);
    // TABLE DATA depends on its TABLE entry; post-data entries name the TABLE entry.
    for (const dep of entry.deps) if (byId.get(dep)?.desc.startsWith('TABLE ') && !byId.get(dep)?.desc.startsWith('TABLE DATA ')) tableOfTableEntry.set(dep, table);
  }
  const late = new Set<EarlyTable>();
  for (const entry of all) {
    if (!listed.has(entry.id)) continue;
    // Extended statistics, and indexes built in the final step, would be missed by an early ANALYZE.
    const lateFor = (): void => {
      for (const dep of entry.deps) if (tableOfTableEntry.has(dep)) late.add(tableOfTableEntry.get(dep)!);
    };
    if (entry.desc.startsWith('STATISTICS ')) lateFor();
    const isIndex = entry.classOid === 1259 && entry.desc.startsWith('INDEX ') && !entry.desc.startsWith('INDEX ATTACH ');
    const isKey = entry.classOid === 2606 && entry.desc.startsWith('CONSTRAINT ');
    if (!isIndex && !isKey) continue;
    // pg_dump can name a dependency twice (a key on two columns of its table).
    const deps = [...new Set(entry.deps)];
    const owners = deps.filter((dep) => tableOfTableEntry.has(dep));
    const others = deps.filter((dep) => !tableOfTableEntry.has(dep));
    if (owners.length !== 1 || !others.every((dep) => preData.has(dep) && !byId.get(dep)?.desc.startsWith('TABLE '))) {
      if (isIndex) lateFor();
      continue;
    }
    tableOfTableEntry.get(owners[0]!)!.entryIds.push(entry.id);
  }
  for (const table of late) table.analyze = undefined;
  return tables;
}

function isDataEntry(desc: string): boolean {
  return /^(TABLE DATA|SEQUENCE SET|BLOBS|LARGE OBJECTS|BLOB|MATERIALIZED VIEW DATA) /.test(desc) || desc === 'BLOBS';
}

/**
 * Follows a streamed pg_restore --verbose's lines and says when each table's data is in: a table is done
 * when pg_restore names any next item (its COPY has been committed by then). The last table is done when
 * the restore ends, which the caller knows.
 */
export class DataLoadTracker {
  private next = 0;
  private loading: EarlyTable | undefined;

  constructor(
    private readonly tables: readonly EarlyTable[],
    private readonly onTableDone: (table: EarlyTable) => void,
  ) {}

  /** One stderr line of the streamed pg_restore --verbose. */
  line(raw: string): void {
    const text = raw.replace(/^(?:\s*pg_restore:)+\s*/, '').trim();
    const item = /^(?:creating .+|processing data for table "(.+)"|executing .+|processing .+)$/.exec(text);
    if (!item) return;
    if (this.loading) {
      const done = this.loading;
      this.loading = undefined;
      this.onTableDone(done);
    }
    const name = item[1];
    if (name === undefined) return;
    // Tables load in list order: the first not yet seen that bears the name (a name with a dot or a space
    // can read two ways; the order settles it).
    for (let k = this.next; k < this.tables.length; k++) {
      if (this.tables[k]!.names.includes(name)) {
        this.loading = this.tables[k];
        this.next = k + 1;
        return;
      }
    }
  }
}
