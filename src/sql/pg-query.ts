/**
 * The binding to libpg_query's WebAssembly build (the libpg-query package, PostgreSQL 18's parser):
 * parse SQL to its JSON parse tree. The package's own parseSync copies strings in and out of the
 * WebAssembly memory one character at a time in JavaScript; this binding calls the same exported C
 * function (`wasm_parse_query_raw`, libpg_query's pg_query_parse) on the package's Emscripten module
 * and moves the text with the native TextEncoder/TextDecoder instead, which is most of the cost of
 * parsing a short migration (and `drydock lint` parses hundreds). It also skips loading the
 * package's index, which would instantiate a second copy of the WebAssembly.
 *
 * Relies on the package's file layout (wasm/libpg-query.js, no "exports" map) and libpg_query's C
 * structs (PgQueryParseResult, PgQueryError): libpg-query is pinned to an exact version in package.json.
 */
import { createRequire } from 'node:module';

/** The parts of the Emscripten module this binding uses. */
interface PgQueryModule {
  /** The WebAssembly memory; replaced when the memory grows, so read it again after every call. */
  HEAPU8: Uint8Array;
  _malloc(size: number): number;
  _free(pointer: number): void;
  /** PgQueryParseResult* pg_query_parse(const char*) (libpg_query's JSON output). */
  _wasm_parse_query_raw(query: number): number;
  _wasm_free_parse_result(result: number): void;
}

/** A syntax error as libpg_query reports it. */
export class PgQueryError extends Error {
  constructor(
    message: string,
    /** 0-based position of the error in the query, in characters (code points). */
    readonly cursorPosition: number,
  ) {
    super(message);
    this.name = 'PgQueryError';
  }
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Load libpg-query's WebAssembly module (a few tens of milliseconds). */
export async function loadPgQuery(): Promise<(sql: string) => unknown> {
  const factory = createRequire(import.meta.url)('libpg-query/wasm/libpg-query.js') as () => Promise<PgQueryModule>;
  const wasm = await factory();
  return (sql) => parseWith(wasm, sql);
}

/** The NUL-terminated UTF-8 string at `pointer`. */
function cString(wasm: PgQueryModule, pointer: number): string {
  const heap = wasm.HEAPU8;
  const end = heap.indexOf(0, pointer);
  return decoder.decode(heap.subarray(pointer, end < 0 ? heap.length : end));
}

/** Parse `sql` (no NUL characters) to libpg_query's parse tree, `{ version, stmts: [...] }`. Throws PgQueryError for a syntax error. */
function parseWith(wasm: PgQueryModule, sql: string): unknown {
  const size = Buffer.byteLength(sql, 'utf8') + 1;
  const query = wasm._malloc(size);
  if (!query) throw new Error('the SQL parser is out of memory');
  let result = 0;
  try {
    const heap = wasm.HEAPU8;
    encoder.encodeInto(sql, heap.subarray(query, query + size - 1));
    heap[query + size - 1] = 0;
    result = wasm._wasm_parse_query_raw(query);
    if (!result) throw new Error('the SQL parser is out of memory');
    // PgQueryParseResult { char* parse_tree; char* stderr_buffer; PgQueryError* error; } (wasm32: 4-byte pointers).
    const words = new DataView(wasm.HEAPU8.buffer);
    const tree = words.getUint32(result, true);
    const error = words.getUint32(result + 8, true);
    if (error) {
      // PgQueryError { char* message; char* funcname; char* filename; int lineno; int cursorpos; char* context; }, cursorpos 1-based.
      const message = words.getUint32(error, true);
      const cursor = words.getInt32(error + 16, true);
      throw new PgQueryError(message ? cString(wasm, message) : 'syntax error', cursor > 0 ? cursor - 1 : 0);
    }
    if (!tree) throw new Error('the SQL parser returned no parse tree');
    return JSON.parse(cString(wasm, tree));
  } finally {
    wasm._free(query);
    if (result) wasm._wasm_free_parse_result(result);
  }
}
