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
import { readFile } from 'node:fs';
import { createRequire } from 'node:module';
import { setFlagsFromString } from 'node:v8';

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

/** The part of the WebAssembly JavaScript API this binding uses (the project's TypeScript libraries do not declare it). */
interface WasmApi {
  compile(bytes: Uint8Array): Promise<WasmModule>;
  instantiate(module: WasmModule, imports: object): Promise<WasmInstance>;
}
/** A compiled WebAssembly.Module. */
interface WasmModule {
  readonly [Symbol.toStringTag]: string;
}
/** A WebAssembly.Instance. */
interface WasmInstance {
  readonly exports: object;
}
const { WebAssembly: wasmApi } = globalThis as unknown as { WebAssembly: WasmApi };

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

/**
 * V8's WebAssembly settings for the parser, read when a module compiles:
 * - Liftoff (baseline) code only: by default V8 also recompiles the parser's 1.7 MB of WebAssembly with
 *   TurboFan on background threads, which costs a lint or release run more CPU than the faster code
 *   saves (drydock lint on 340 files: 0.7 s of CPU → 0.4 s);
 * - each function validated when it is first compiled, not the whole module up front: a lint run calls
 *   about 100 of its 526 functions (2 % fewer instructions for a lint of 343 files). The module is the
 *   pinned package's; a function that did not validate would fail the run, never change a finding.
 */
function wasmFlags(): void {
  setFlagsFromString('--liftoff-only');
  setFlagsFromString('--wasm-lazy-validation');
}

/** The parser's WebAssembly, compiling since precompilePgQuery; undefined when that was not called or failed. */
let precompiled: Promise<WasmModule | undefined> | undefined;

/**
 * Start reading and compiling the parser's WebAssembly now, off the main thread (the file is read by
 * libuv's pool, V8 decodes and validates on its own threads), so that the work overlaps whatever the
 * process does next (loading the linter, walking folders); loadPgQuery then only instantiates it.
 * Safe to call more than once, and never fails: if any of it goes wrong, loadPgQuery loads the
 * package the usual way and reports that failure itself.
 */
export function precompilePgQuery(): void {
  if (precompiled) return;
  wasmFlags();
  precompiled = new Promise((resolve) => {
    let path: string;
    try {
      path = createRequire(import.meta.url).resolve('libpg-query/wasm/libpg-query.wasm');
    } catch {
      resolve(undefined);
      return;
    }
    readFile(path, (error, bytes) => {
      if (error) resolve(undefined);
      else wasmApi.compile(bytes).then(resolve, () => resolve(undefined));
    });
  });
}

/** Load libpg-query's WebAssembly module (a few tens of milliseconds), from precompilePgQuery's module when there is one. */
export async function loadPgQuery(): Promise<(sql: string) => unknown> {
  wasmFlags();
  const factory = createRequire(import.meta.url)('libpg-query/wasm/libpg-query.js') as (options?: EmscriptenOptions) => Promise<PgQueryModule>;
  const module = precompiled && (await precompiled);
  const wasm = (module && (await instantiateWith(factory, module))) ?? (await factory());
  return (sql) => parseWith(wasm, sql);
}

/** The Emscripten option loadPgQuery sets: instantiate an already compiled module (the factory then reads no file). */
interface EmscriptenOptions {
  instantiateWasm(imports: object, receiveInstance: (instance: WasmInstance) => void): object;
}

/** The Emscripten module over `module`, or undefined when instantiating it fails (the caller then loads the usual way). */
async function instantiateWith(factory: (options: EmscriptenOptions) => Promise<PgQueryModule>, module: WasmModule): Promise<PgQueryModule | undefined> {
  // Emscripten waits for receiveInstance and has no way to hear of a failure: the race ends the wait.
  let failed!: (value: undefined) => void;
  const failure = new Promise<undefined>((resolve) => (failed = resolve));
  return Promise.race([
    factory({
      instantiateWasm(imports, receiveInstance) {
        wasmApi.instantiate(module, imports).then(receiveInstance, () => failed(undefined));
        return {};
      },
    }),
    failure,
  ]);
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
