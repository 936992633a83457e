/**
 * pg_restore --verbose's stderr as a count of the archive items it has restored, instead of raw lines.
 *
 * What pg_restore prints (PostgreSQL 12–17), one "pg_restore: " line each:
 * - every run starts with "connecting to database for restore";
 * - a serial run prints one line per item: `creating TABLE "public.a"`, `processing data for table
 *   "public.a"`, `executing SEQUENCE SET s`, `processing BLOBS`;
 * - a parallel run (--jobs) prints `processing item 214 TABLE a` for each item restored before the
 *   workers start, then `launching item N …` and `finished item N …` for each item a worker restores,
 *   and `processing missed item N …` for the few left to the end. The workers also print the serial
 *   lines, and their lines can interleave ("pg_restore:pg_restore:  processing …"), so a parallel run
 *   counts items by number only, each once.
 * The archive's header entries (ENCODING, STDSTRINGS, SEARCHPATH, DATABASE) are processed but are not
 * items of a `pg_restore --list`, so they are not counted.
 */

/** Header entries pg_restore processes that `--list` does not list. */
const HEADER_ENTRIES = /^(ENCODING|STDSTRINGS|SEARCHPATH|DATABASE)\b/;

/** What one line said. */
export interface RestoreLine {
  /** The line restored (or finished) an item. */
  counted: boolean;
  /** The item the line names ("TABLE DATA public.events"), when it names one. */
  item?: string | undefined;
}

/** Counts the items pg_restore runs report, across runs (one counter for one step's runs). */
export class RestoreItemCounter {
  /** Items restored so far. */
  done = 0;
  /** The newest item named. */
  current: string | undefined;
  /** The current run is parallel: count numbered items only. */
  private parallel = false;
  private readonly numbered = new Set<number>();

  /** Read one stderr line of pg_restore --verbose. */
  line(raw: string): RestoreLine {
    const text = raw.replace(/^(?:\s*pg_restore:)+\s*/, '').trim();
    if (text === 'connecting to database for restore') {
      this.parallel = false;
      return { counted: false };
    }
    const numbered = /^(processing item|launching item|finished item|processing missed item) (\d+) (.*)$/.exec(text);
    if (numbered) {
      this.parallel = true;
      const [, what, id, rest] = numbered as unknown as [string, string, string, string];
      if (HEADER_ENTRIES.test(rest)) return { counted: false };
      this.current = rest;
      if (what === 'launching item' || this.numbered.has(Number(id))) return { counted: false, item: rest };
      this.numbered.add(Number(id));
      this.done += 1;
      return { counted: true, item: rest };
    }
    const serial = /^(?:creating (.+)|processing data for table (.+)|executing (.+)|processing (BLOBS|BLOB COMMENTS|LARGE OBJECTS?.*))$/.exec(text);
    if (!serial) return { counted: false };
    const item = serial[1] ?? (serial[2] !== undefined ? `TABLE DATA ${serial[2]}` : (serial[3] ?? serial[4]))!;
    const name = item.replace(/"/g, '');
    this.current = name;
    if (this.parallel) return { counted: false, item: name };
    this.done += 1;
    return { counted: true, item: name };
  }
}
