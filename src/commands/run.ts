/**
 * How a command's action runs: cli.ts resolves the global settings, builds the dependencies once and
 * hands them to the action; any error it throws is reported by output.fail with its exit code.
 */
import type { Deps } from '../deps.js';

/** Runs one command action with the dependencies built for this run. */
export type RunCommand = (action: (deps: Deps) => Promise<void>) => Promise<void>;
