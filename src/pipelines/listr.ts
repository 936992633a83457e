/**
 * One constructor for task lists, so every pipeline renders the way output.ts chose for this run.
 */
import { Listr, ListrLogger, ProcessOutput, type ListrRendererValue, type ListrTask } from 'listr2';

import type { Output } from '../output.js';

/** A task list of any renderer (the renderer is chosen at run time). */
export type Pipeline<Ctx> = Listr<Ctx, ListrRendererValue, ListrRendererValue>;

/** A task of such a list. */
export type PipelineTask<Ctx> = ListrTask<Ctx>;

/**
 * Build a task list rendered for `output`'s mode. With `signal`, no task starts once it has aborted
 * (Ctrl-C, SIGTERM): the list fails with the signal's reason and the caller's clean-up runs.
 */
export function createPipeline<Ctx>(tasks: PipelineTask<Ctx>[], output: Output, signal?: AbortSignal): Pipeline<Ctx> {
  const guarded = signal
    ? tasks.map((t): PipelineTask<Ctx> => ({
        ...t,
        task: (ctx, task) => {
          signal.throwIfAborted();
          return t.task(ctx, task);
        },
      }))
    : tasks;
  return new Listr<Ctx, ListrRendererValue, ListrRendererValue>(guarded, output.listrOptions({ ListrLogger, ProcessOutput }));
}
